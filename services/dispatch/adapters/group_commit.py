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

An acceptance carrying a `LoadGuard` is checked against its person's open orders in the
same transaction, under that person's lock (`load_guard`), so the load limit holds at
acceptance as atomically as the grab itself. A new work order is numbered the same way,
from its project's daily counter locked in the same transaction (`order_numbers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram
from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import Executable

from services.dispatch.adapters import load_guard, order_numbers, rows
from services.dispatch.adapters import tables as t
from services.dispatch.service_layer.ports import AppendBatch, AppendResult, IdempotencyRecord
from shared.database import Database
from shared.database_errors import Fault, fault_of, storage_answer
from shared.errors import ConcurrencyConflict
from shared.events.sla import SlaCalendarUnconfirmed

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

Outcome = AppendResult | Exception
T = TypeVar("T")


@dataclass(slots=True)
class Pending:
    """An append waiting for the writer, and the future its command awaits."""

    batch: AppendBatch
    future: asyncio.Future[AppendResult]


async def next_group(queue: asyncio.Queue[T], max_group: int) -> list[T]:
    """Wait for the first item, then take every item already queued (up to `max_group`)."""
    group = [await queue.get()]
    while len(group) < max_group and not queue.empty():
        group.append(queue.get_nowait())
    return group


class GroupCommitter:
    """Owns the writer task of one event store."""

    def __init__(self, database: Database, max_group: int, now: Callable[[], datetime]) -> None:
        self._database = database
        self._max_group = max_group
        self._now = now
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[], None]] = []
        self.timer_listeners: list[Callable[[datetime], None]] = []

    async def submit(self, batch: AppendBatch) -> AppendResult:
        """Queue `batch` for the next group and wait for its outcome."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name="event-store-writer")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(Pending(batch, future))
        return await future

    async def close(self) -> None:
        """Stop the writer task and release the writer's connections."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def _run(self) -> None:
        while True:
            group = await next_group(self._queue, self._max_group)
            batches = [p.batch for p in group]
            self._settle(group, await self._commit(batches))

    async def _commit(self, batches: list[AppendBatch]) -> list[Outcome]:
        try:
            return await self._database.run(_write_together, batches, self._now(), write=True)
        except Exception as exc:
            if not _worth_one_by_one(exc, len(batches)):
                return [_failure(exc)] * len(batches)
        try:
            return await self._database.run(_write_one_by_one, batches, self._now(), write=True)
        except Exception as exc:  # the database is down or refused the transaction: all failed
            return [_failure(exc)] * len(batches)

    def _settle(self, group: list[Pending], outcomes: list[Outcome]) -> None:
        GROUP_SIZE.observe(len(group))
        wrote = False
        for pending, outcome in zip(group, outcomes, strict=True):
            if pending.future.done():  # its command was cancelled (client went away)
                continue
            if isinstance(outcome, Exception):
                pending.future.set_exception(outcome)
            else:
                wrote = wrote or bool(outcome.events)
                for event in outcome.events:
                    EVENTS_APPENDED.labels(event.type_name).inc()
                    if event.type_name == SlaCalendarUnconfirmed.type_name:
                        for year in event.data["years"]:
                            UNCONFIRMED_CALENDARS.labels(str(year)).inc()
                pending.future.set_result(outcome)
        if wrote:
            for listener in self.listeners:
                listener()
        earliest = _earliest_timer(group, outcomes)
        if earliest is not None:
            for timer_listener in self.timer_listeners:
                timer_listener(earliest)


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


def _earliest_timer(group: list[Pending], outcomes: list[Outcome]) -> datetime | None:
    """The earliest `fires_at` among the timers the group wrote, if it wrote any."""
    written = (
        row.fires_at
        for pending, outcome in zip(group, outcomes, strict=True)
        if _writes(pending.batch, outcome)
        for row in pending.batch.timers or ()
    )
    return min(written, default=None)


def _write_together(conn: Connection, batches: list[AppendBatch], now: datetime) -> list[Outcome]:
    # The load locks first, then the number counters, before any row lock: see
    # `load_guard` and `order_numbers`.
    loads = load_guard.lock_and_read(conn, batches)
    counters = order_numbers.lock_and_read(conn, batches)
    earlier = _stored_keys(conn, batches)
    heads = _stream_heads(conn, {b.stream_id for b in batches})
    planned = dict(counters)
    plans = _plan(batches, earlier, heads, loads, planned, now)
    order_numbers.write(conn, counters, planned)
    _write(conn, [(b, o) for b, o in plans if _writes(b, o)], now)
    return [o for _, o in plans]


def _writes(batch: AppendBatch, outcome: Outcome) -> bool:
    # An append with no events still replaces the stream's timers (a timer found stale).
    if not isinstance(outcome, AppendResult) or outcome.duplicate_of is not None:
        return False
    return bool(outcome.events) or batch.timers is not None


def _write_one_by_one(conn: Connection, batches: list[AppendBatch], now: datetime) -> list[Outcome]:
    # In stream order, for the lock-order reason given in `_write`; answers in arrival order.
    order = sorted(range(len(batches)), key=lambda i: batches[i].stream_id)
    # Every load lock and number counter of the group before the first savepoint
    # writes a row.
    loads = load_guard.lock_and_read(conn, batches)
    counters = order_numbers.lock_and_read(conn, batches)
    outcomes: dict[int, Outcome] = {
        i: _append_in_savepoint(conn, batches[i], loads, counters, now) for i in order
    }
    return [outcomes[i] for i in range(len(batches))]


def _plan(
    batches: list[AppendBatch],
    earlier: dict[CallerKey, IdempotencyRecord],
    heads: dict[str, int],
    loads: load_guard.Loads,
    counters: order_numbers.Counters,
    now: datetime,
) -> list[tuple[AppendBatch, Outcome]]:
    """Decide in memory which appends of the group win, in arrival order, and number the
    new work orders among them (`counters` advance); each append as it is to be written.

    A stale version is a conflict; a guarded acceptance over its person's load limit is
    refused and writes nothing (`load_guard`)."""
    outcomes: list[tuple[AppendBatch, Outcome]] = []
    first_of_key: dict[CallerKey, IdempotencyRecord] = {}
    for batch in batches:
        record = batch.idempotency
        key = caller_key(record) if record is not None else None
        if key is not None and (key in earlier or key in first_of_key):
            replay = earlier.get(key) or first_of_key[key]
            duplicate = AppendResult(events=(), version=batch.expected_version, duplicate_of=replay)
            outcomes.append((batch, duplicate))
            continue
        head = heads.get(batch.stream_id, 0)
        if batch.expected_version != head:
            CONFLICTS.inc()
            outcomes.append((batch, _conflict(batch)))
            continue
        refused = load_guard.refusal(batch, loads)
        if refused is not None:
            outcomes.append((batch, refused))
            continue
        load_guard.note(batch, loads)
        batch, number = order_numbers.take(batch, counters)
        recorded = rows.recorded_events(batch, batch.recorded_at or now)
        heads[batch.stream_id] = head + len(recorded)
        if key is not None and batch.idempotency is not None:
            # The batch's own record: with its number, for a replay in this group.
            first_of_key[key] = batch.idempotency
        version = head + len(recorded)
        outcomes.append((batch, AppendResult(events=recorded, version=version, number=number)))
    return outcomes


def _write(conn: Connection, accepted: list[tuple[AppendBatch, Outcome]], now: datetime) -> None:
    # Rows go in one global order (stream, then version; keys sorted), so two processes
    # whose groups touch the same streams take the row locks in the same order: the later
    # one waits and then gets the unique violation that `_write_one_by_one` sorts out,
    # instead of both waiting on each other until PostgreSQL aborts one as a deadlock.
    # The sort is stable: appends to one stream keep their order (and versions).
    accepted = sorted(accepted, key=lambda pair: pair[0].stream_id)
    events: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    work_orders: dict[str, dict[str, Any]] = {}
    projects: dict[tuple[str, str], dict[str, Any]] = {}
    timers: dict[str, list[dict[str, Any]]] = {}
    for batch, outcome in accepted:
        assert isinstance(outcome, AppendResult)
        events += rows.event_rows(outcome.events)
        outbox += [rows.outbox_row(e) for e in outcome.events]
        if batch.idempotency is not None:
            keys.append(rows.idempotency_row(batch.idempotency, now))
        if (row := rows.work_order_row(batch, outcome.version, now)) is not None:
            work_orders[batch.stream_id] = row  # a later append of the same order wins
        if (row := rows.project_row(batch, outcome.version)) is not None:
            projects[(row["tenant"], row["project"])] = row
        if batch.timers is not None:
            # The latest append's set wins.
            timers[batch.stream_id] = rows.timer_rows(
                batch.stream_id, batch.tenant, batch.project, batch.timers
            )
    if events:
        conn.execute(insert(t.events), events)
        conn.execute(insert(t.outbox), outbox)
    if keys:
        keys.sort(key=lambda row: (row["tenant"], row["subject"], row["key"]))
        conn.execute(insert(t.idempotency_keys), keys)
    if work_orders:
        _upsert(conn, t.work_orders, ["id"], list(work_orders.values()))
    if projects:
        _upsert(conn, t.projects, ["tenant", "project"], [projects[k] for k in sorted(projects)])
    if timers:
        conn.execute(_DELETE_TIMERS, {"streams": list(timers)})
        replacing = [row for stream_rows in timers.values() for row in stream_rows]
        if replacing:
            conn.execute(insert(t.sla_timers), replacing)


def _append_in_savepoint(
    conn: Connection,
    batch: AppendBatch,
    loads: load_guard.Loads,
    counters: order_numbers.Counters,
    now: datetime,
) -> Outcome:
    savepoint = conn.begin_nested()
    # Planned on copies: the loads count this append, and the counters its number, only
    # once it is written.
    trial = {key: set(ids) for key, ids in loads.items()}
    planned = dict(counters)
    try:
        keys = _stored_keys(conn, [batch])
        heads = _stream_heads(conn, {batch.stream_id})
        [(batch, outcome)] = _plan([batch], keys, heads, trial, planned, now)
        if _writes(batch, outcome):
            order_numbers.write(conn, dict(counters), planned)
            _write(conn, [(batch, outcome)], now)
    except IntegrityError:
        savepoint.rollback()
        # Lost a race with another process: either it ran the same command (same key)
        # or it appended to the same stream first.
        keys = _stored_keys(conn, [batch])
        if keys:
            return AppendResult(
                events=(), version=batch.expected_version, duplicate_of=next(iter(keys.values()))
            )
        CONFLICTS.inc()
        return _conflict(batch)
    except Exception as exc:  # this append's own fault: its neighbours still commit
        savepoint.rollback()
        return _failure(exc)
    savepoint.commit()
    loads.update(trial)
    counters.update(planned)
    return outcome


CallerKey = tuple[str, str, str]
"""An idempotency key as the caller's own: (tenant, subject, key)."""


def caller_key(record: IdempotencyRecord) -> CallerKey:
    """Whose key it is: two callers' same key are two commands."""
    return (record.tenant, record.subject, record.key)


def _stored_keys(
    conn: Connection, batches: list[AppendBatch]
) -> dict[CallerKey, IdempotencyRecord]:
    wanted = {caller_key(b.idempotency) for b in batches if b.idempotency is not None}
    if not wanted:
        return {}
    c = t.idempotency_keys.c
    condition = or_(
        *(
            and_(c.tenant == tenant, c.subject == subject, c.key == key)
            for tenant, subject, key in wanted
        )
    )
    found = (conn.execute(select(t.idempotency_keys).where(condition))).mappings().all()
    records = (rows.idempotency_record(r) for r in found)
    return {caller_key(record): record for record in records}


# Built once, with expanding parameters: building a statement (and its cache key) for
# every group showed in the profile, next to running it.
_HEADS = (
    select(t.events.c.stream_id, func.max(t.events.c.version))
    .where(t.events.c.stream_id.in_(bindparam("streams", expanding=True)))
    .group_by(t.events.c.stream_id)
)
_DELETE_TIMERS = delete(t.sla_timers).where(
    t.sla_timers.c.work_order_id.in_(bindparam("streams", expanding=True))
)


def _stream_heads(conn: Connection, streams: set[str]) -> dict[str, int]:
    found = conn.execute(_HEADS, {"streams": sorted(streams)}).all()
    return {stream: int(version) for stream, version in found}


def _upsert(conn: Connection, table: Table, keys: list[str], values: list[dict[str, Any]]) -> None:
    statement = _upsert_statement(conn.dialect.name, table, tuple(keys), tuple(values[0]))
    conn.execute(statement, values)


@functools.cache
def _upsert_statement(
    dialect_name: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> Executable:
    # Built once per table and column set: building the statement for every group cost
    # more than compiling it (which SQLAlchemy caches anyway).
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {name: statement.excluded[name] for name in columns if name not in keys}
    # Typed through the annotation: the dialect module is chosen at run time.
    upsert: Executable = statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
    return upsert


def _conflict(batch: AppendBatch) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        f"stream {batch.stream_id} changed since version {batch.expected_version}; reload and retry",
        expected_version=batch.expected_version,
    )
