"""Group commit: one writer task commits every append waiting, together.

Concurrent commands each hand their `AppendBatch` to the writer. It takes all that
are queued, checks them with one query per kind (stream heads, idempotency keys),
decides in memory which win, and writes the winners with one multi-row statement per
table in one transaction: N commands cost one commit instead of N. On SQLite this is
also the single writer the database wants.

The group runs as one unit of work on `Database.run` (one thread hop on SQLite).
Another process may still write the same stream between the check and the insert
(PostgreSQL, several dispatch instances); the primary key then refuses the group's
transaction, and the group is retried one append at a time, each in a savepoint, so
only the real loser gets the conflict. Any other error of the group's transaction is
sorted out the same way: a value the database refuses (a NUL in text on PostgreSQL, an
integer past 64 bits) or a lock not granted in time fails only the append that met it,
answered 422 or 503 (`shared.database_errors`); the others commit. Only a database
that is down fails the whole group, at once.

The committer names no inline view nor precondition: the store registers one part per
kind (`inline`), opened for each group in registration order, which is the lock order
(the load locks, then the number counters, before any row is written). So an acceptance
is checked against its person's load limit, and a new work order numbered, in the same
transaction as the append, under the same locks.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import Select, and_, bindparam, func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.dispatch.adapters import rows
from services.dispatch.adapters import tables as t
from services.dispatch.adapters.append_plan import (
    CallerKey,
    Outcome,
    caller_key,
    conflict,
    plan,
    written,
)
from services.dispatch.adapters.inline import InlinePart, Written
from services.dispatch.service_layer.ports import AppendBatch, AppendResult, IdempotencyRecord
from shared.database import Database
from shared.database_errors import Fault, fault_of, storage_answer
from shared.errors import ConcurrencyConflict
from shared.events.sla import SlaCalendarUnconfirmed
from shared.grouped import Grouped

EVENTS_APPENDED = Counter(
    "dispatch_events_appended_total", "Events appended to the store", ["type"]
)
UNCONFIRMED_CALENDARS = Counter(
    "dispatch_sla_clock_unconfirmed_calendar_total",
    "SLA clocks whose due time runs into a year with no known public-holiday schedule "
    "(workorder.sla_calendar_unconfirmed events recorded), by that year",
    ["year"],
)
CONFLICTS = Counter(
    "dispatch_append_conflicts_total", "Appends refused for a stale expected version"
)
GROUP_SIZE = Histogram(
    "dispatch_group_commit_size",
    "Appends committed together in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
GROUP_SECONDS = Histogram(
    "dispatch_group_commit_seconds",
    "Wall time of one group's transaction, from taking the group to its outcome "
    "(with the one-by-one retry when the group failed)",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5),
)

PartOpener = Callable[[Connection, Sequence[AppendBatch]], InlinePart]
"""Opens one inline kind's part for a group: takes its locks, reads what it plans with."""


class GroupCommitter:
    """Owns the writer task of one event store."""

    def __init__(
        self,
        database: Database,
        max_group: int,
        now: Callable[[], datetime],
        parts: Sequence[PartOpener],
    ) -> None:
        self._database = database
        self._now = now
        self._parts = tuple(parts)
        self._writer: Grouped[AppendBatch, AppendResult] = Grouped(
            self._write_group, max_group=max_group, name="event-store-writer"
        )
        self.listeners: list[Callable[[Sequence[Written]], None]] = []
        """Called after each commit with the appends it wrote (none: not called)."""

    async def submit(self, batch: AppendBatch) -> AppendResult:
        """Queue `batch` for the next group and wait for its outcome."""
        return await self._writer.submit(batch)

    async def close(self) -> None:
        """Stop the writer task and release the writer's connections."""
        await self._writer.close()

    async def _write_group(self, batches: list[AppendBatch]) -> list[Outcome]:
        # One writer commits the groups one after the other: a process's appends per
        # second are at most the group's size over this time (operations.md, "The group
        # commit's metrics").
        began = time.perf_counter()
        outcomes = await self._commit(batches)
        GROUP_SECONDS.observe(time.perf_counter() - began)
        GROUP_SIZE.observe(len(batches))
        for _, outcome in outcomes:
            if isinstance(outcome, ConcurrencyConflict):
                CONFLICTS.inc()
            if isinstance(outcome, AppendResult):
                for event in outcome.events:
                    EVENTS_APPENDED.labels(event.type_name).inc()
                    if event.type_name == SlaCalendarUnconfirmed.type_name:
                        for year in event.data["years"]:
                            UNCONFIRMED_CALENDARS.labels(str(year)).inc()
        wrote = written(outcomes)
        if wrote:
            for listener in self.listeners:
                listener(wrote)
        return [outcome for _, outcome in outcomes]

    async def _commit(self, batches: list[AppendBatch]) -> list[tuple[AppendBatch, Outcome]]:
        try:
            return await self._database.run(
                _write_together, batches, self._parts, self._now(), write=True
            )
        except Exception as exc:
            if not _worth_one_by_one(exc, len(batches)):
                return [(b, _failure(exc)) for b in batches]
        try:
            return await self._database.run(
                _write_one_by_one, batches, self._parts, self._now(), write=True
            )
        except Exception as exc:  # the database is down or refused the transaction: all failed
            return [(b, _failure(exc)) for b in batches]


def _worth_one_by_one(error: Exception, size: int) -> bool:
    """Whether to retry a failed group one append at a time, so only its offender fails.

    A key or stream taken by another process is sorted out append by append; so is any
    other error of a group of several (a value the database refuses, a lock not granted
    in time), which belongs to one command, not to its neighbours. A database that is
    down fails every append alike, and at once.
    """
    if isinstance(error, IntegrityError):
        return True
    return size > 1 and fault_of(error) is not Fault.DOWN


def _failure(error: Exception) -> Exception:
    """A command's failure as its caller is to see it (`storage_answer`), else as raised."""
    return storage_answer(error) or error


def _write_together(
    conn: Connection, batches: list[AppendBatch], openers: Sequence[PartOpener], now: datetime
) -> list[tuple[AppendBatch, Outcome]]:
    # Every part's locks (in registration order) before any row lock.
    parts = [open_part(conn, batches) for open_part in openers]
    earlier = _stored_keys(conn, batches)
    heads = _stream_heads(conn, {b.stream_id for b in batches})
    plans = plan(batches, earlier, heads, parts, now)
    _write(conn, written(plans), parts, now)
    return plans


def _write_one_by_one(
    conn: Connection, batches: list[AppendBatch], openers: Sequence[PartOpener], now: datetime
) -> list[tuple[AppendBatch, Outcome]]:
    # In stream order, for the lock-order reason given in `_write`; answers in arrival order.
    order = sorted(range(len(batches)), key=lambda i: batches[i].stream_id)
    # Every part's locks for the whole group before the first savepoint writes a row.
    parts = [open_part(conn, batches) for open_part in openers]
    outcomes: dict[int, tuple[AppendBatch, Outcome]] = {}
    for i in order:
        outcomes[i], parts = _append_in_savepoint(conn, batches[i], parts, now)
    return [outcomes[i] for i in range(len(batches))]


def _write(
    conn: Connection, accepted: list[Written], parts: Sequence[InlinePart], now: datetime
) -> None:
    # Rows go in one global order (stream, then version; keys sorted), so two processes
    # whose groups touch the same streams take the row locks in the same order: the later
    # one waits and then gets the unique violation that `_write_one_by_one` sorts out,
    # instead of both waiting on each other until PostgreSQL aborts one as a deadlock.
    # The sort is stable: appends to one stream keep their order (and versions).
    accepted = sorted(accepted, key=lambda pair: pair[0].stream_id)
    events: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for batch, result in accepted:
        events += rows.event_rows(result.events)
        outbox += [rows.outbox_row(e) for e in result.events]
        if batch.idempotency is not None:
            keys.append(rows.idempotency_row(batch.idempotency, now))
    if events:
        conn.execute(insert(t.events), events)
        conn.execute(insert(t.outbox), outbox)
    if keys:
        keys.sort(key=lambda row: (row["tenant"], row["subject"], row["key"]))
        conn.execute(insert(t.idempotency_keys), keys)
    for part in parts:
        part.write(accepted, now)


def _append_in_savepoint(
    conn: Connection, batch: AppendBatch, parts: list[InlinePart], now: datetime
) -> tuple[tuple[AppendBatch, Outcome], list[InlinePart]]:
    """The append's outcome, and the parts as they stand after it (the same if it failed)."""
    savepoint = conn.begin_nested()
    # Planned on forks: the parts count this append (its load, its number) only once it
    # is written.
    trial = [part.fork() for part in parts]
    try:
        keys = _stored_keys(conn, [batch])
        heads = _stream_heads(conn, {batch.stream_id})
        [(admitted, outcome)] = planned = plan([batch], keys, heads, trial, now)
        _write(conn, written(planned), trial, now)
    except IntegrityError:
        savepoint.rollback()
        # Lost a race with another process: either it ran the same command (same key)
        # or it appended to the same stream first.
        keys = _stored_keys(conn, [batch])
        if keys:
            replay = next(iter(keys.values()))
            duplicate = AppendResult(events=(), version=batch.expected_version, duplicate_of=replay)
            return (batch, duplicate), parts
        return (batch, conflict(batch)), parts
    except Exception as exc:  # this append's own fault: its neighbours still commit
        savepoint.rollback()
        return (batch, _failure(exc)), parts
    savepoint.commit()
    return (admitted, outcome), trial


def _stored_keys(
    conn: Connection, batches: list[AppendBatch]
) -> dict[CallerKey, IdempotencyRecord]:
    wanted = sorted({caller_key(b.idempotency) for b in batches if b.idempotency is not None})
    if not wanted:
        return {}
    # Padded to a power of two with the last key again (a repeat matches nothing more):
    # a group needs one of a handful of statements, each built and prepared once.
    size = 1 << (len(wanted) - 1).bit_length()
    padded = wanted + [wanted[-1]] * (size - len(wanted))
    values = {
        f"{name}_{i}": value
        for i, caller in enumerate(padded)
        for name, value in zip(_KEY_COLUMNS, caller, strict=True)
    }
    found = conn.execute(_keys_lookup(size), values).mappings().all()
    records = (rows.idempotency_record(r) for r in found)
    return {caller_key(record): record for record in records}


_KEY_COLUMNS = ("tenant", "subject", "key")


@functools.cache
def _keys_lookup(size: int) -> Select[Any]:
    """The stored records of `size` caller keys, one OR of the primary key's columns each:
    both databases answer it from the primary key (a row-value IN scans on SQLite)."""
    c = t.idempotency_keys.c
    return select(t.idempotency_keys).where(
        or_(
            *(
                and_(*(c[name] == bindparam(f"{name}_{i}") for name in _KEY_COLUMNS))
                for i in range(size)
            )
        )
    )


# Built once, with expanding parameters: building a statement (and its cache key) for
# every group showed in the profile, next to running it.
_HEADS = (
    select(t.events.c.stream_id, func.max(t.events.c.version))
    .where(t.events.c.stream_id.in_(bindparam("streams", expanding=True)))
    .group_by(t.events.c.stream_id)
)


def _stream_heads(conn: Connection, streams: set[str]) -> dict[str, int]:
    found = conn.execute(_HEADS, {"streams": sorted(streams)}).all()
    return {stream: int(version) for stream, version in found}
