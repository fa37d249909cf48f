"""dispatch's outbox as the outbox publisher sees it (`shared.outbox.OutboxRows`).

Its lanes are work orders: each work order's events reach the stream in version order.

On PostgreSQL, several dispatch processes may publish at once: a claim locks the rows
at the head of their work order's lane with `FOR UPDATE SKIP LOCKED` (plus the rows
queued behind them) and holds them, in one transaction, while they are published and
marked, so each work order is worked by one process at a time. On SQLite a claim reads
the oldest pending rows, holds no lock while they are published (SQLite's single
writer lock would stall every append), and marks in a short write transaction.

A refill reads the event store (the record the outbox was written from), per work
order in version order. On PostgreSQL it holds a lock that every claim takes shared,
so no process publishes a work order's newest event before the refill reached its
older ones; on SQLite run a refill with the relay stopped (or let the relay do it: it
repairs a lost stream by itself).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import RowMapping, exists, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SOURCE, recorded_from_row
from shared.database import is_sqlite
from shared.envelope import Envelope
from shared.jetstream import OutgoingMessage
from shared.outbox import OutboxRow
from shared.outbox_retention import prune_published
from shared.published_counts import count_published, kept_published
from shared.subjects import event_subject

DISPATCH_SUBJECTS = (
    "events.*.*.workorder.>",
    "events.*.*.project.>",
    "events.*.*.resident.>",
)
"""The subjects dispatch publishes on (the other aggregates' events belong to others)."""

_REFILL_LOCK = 0x776F5F72656C6179
"""PostgreSQL advisory lock key ('wo_relay'): held by a refill, taken shared by claims."""

_FURTHER_ROWS_PER_HEAD = 10
"""Cap on the rows claimed behind the heads, per head of the claim's limit."""

_ROW_COLUMNS = (
    t.outbox.c.id,
    t.outbox.c.event_id,
    t.outbox.c.stream_id,
    t.outbox.c.subject,
    t.outbox.c.payload,
    t.outbox.c.created_at,
)

_Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


@contextlib.asynccontextmanager
async def republish_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the refill lock (PostgreSQL; a no-op on SQLite) for the block."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(select(func.pg_advisory_lock(_REFILL_LOCK)))
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(select(func.pg_advisory_unlock(_REFILL_LOCK)))
            await conn.commit()


@dataclass(slots=True)
class _Claim:
    rows: Sequence[OutboxRow]
    more: bool
    writer: _Connect
    reader: _Connect

    async def settle(
        self, published: Sequence[OutboxRow], failed: Mapping[int, str], at: datetime
    ) -> None:
        outbox = t.outbox
        async with self.writer() as conn:
            if published:
                marked = await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in published]))
                    .where(outbox.c.status == "pending")
                    .values(status="published", published_at=at)
                )
                await count_published(conn, t.outbox_published, marked.rowcount, at)
            by_error: dict[str, list[int]] = {}
            for row_id, error in failed.items():
                by_error.setdefault(error, []).append(row_id)
            for error, ids in by_error.items():
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(ids))
                    .values(attempts=outbox.c.attempts + 1, last_error=error)
                )

    async def backlog(self) -> int:
        async with self.reader() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(t.outbox).where(t.outbox.c.status == "pending")
            )
        return int(count or 0)


class SqlOutbox:
    """dispatch's `outbox` table and event store (implements `shared.outbox.OutboxRows`)."""

    def __init__(self, engine: AsyncEngine, events_max_age_days: int = 0) -> None:
        self._engine = engine
        self._events_max_age_days = events_max_age_days

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[_Claim]:
        """The oldest pending rows; on PostgreSQL locked (see the module) until the block ends."""
        if is_sqlite(self._engine):
            async with self._engine.connect() as conn:
                rows = await _oldest_pending(conn, limit)
            yield _Claim(rows, len(rows) == limit, self._engine.begin, self._engine.connect)
            return
        async with self._engine.connect() as conn, conn.begin():
            # Wait while a refill holds its lock.
            await conn.execute(select(func.pg_advisory_xact_lock_shared(_REFILL_LOCK)))
            rows, more = await _claim_heads(conn, limit)

            def held() -> AbstractAsyncContextManager[AsyncConnection]:
                return contextlib.nullcontext(conn)

            yield _Claim(rows, more, held, held)

    async def published_count(self) -> int:
        """Rows JetStream acknowledged (and still keeps, by the stream's max age)."""
        async with self._engine.connect() as conn:
            return await kept_published(
                conn, t.outbox_published, self._events_max_age_days, datetime.now(UTC)
            )

    async def prune(self, older_than: datetime, limit: int) -> int:
        """Delete up to `limit` of the oldest rows published before `older_than`."""
        return await prune_published(self._engine, t.outbox, older_than, limit)

    async def everything(self, page_size: int) -> AsyncIterator[Sequence[OutboxRow]]:
        """Every stored event, keyset-paginated by (work order, version)."""
        events = t.events
        after: tuple[str, int] | None = None
        while True:
            query = select(events).order_by(events.c.stream_id, events.c.version).limit(page_size)
            if after is not None:
                # Keyset pagination on the primary key: each page is an index range scan.
                query = query.where(tuple_(events.c.stream_id, events.c.version) > tuple_(*after))
            # One short read per page: no transaction stays open while NATS is waited for.
            async with self._engine.connect() as conn:
                page = [_event_row(row) for row in (await conn.execute(query)).mappings()]
            if not page:
                return
            yield page
            last = page[-1]
            after = (last.lane, last.id)

    def refill_lock(self) -> AbstractAsyncContextManager[None]:
        """The advisory lock every claim takes shared (PostgreSQL; nothing on SQLite)."""
        return republish_lock(self._engine)

    async def event_count(self) -> int:
        """How many events the store holds (what a refill publishes)."""
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(t.events)) or 0)


def _event_row(row: RowMapping) -> OutboxRow:
    recorded = recorded_from_row(row)
    envelope = Envelope.from_recorded(recorded, SOURCE)
    return OutboxRow(
        id=recorded.version,
        lane=recorded.stream_id,
        message=OutgoingMessage(
            subject=event_subject(recorded.tenant, recorded.project, recorded.type_name),
            payload=envelope.to_json(),
            msg_id=str(recorded.event_id),
        ),
        created_at=recorded.recorded_at,
    )


def _outbox_row(row: RowMapping) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        lane=row["stream_id"],
        message=OutgoingMessage(row["subject"], row["payload"], str(row["event_id"])),
        created_at=row["created_at"],
    )


async def _oldest_pending(conn: AsyncConnection, limit: int) -> list[OutboxRow]:
    """The oldest pending rows by id: with no row locks to skip, a prefix of the outbox
    holds a prefix of every work order's pending events, which is all ordering needs."""
    outbox = t.outbox
    query = select(*_ROW_COLUMNS).where(outbox.c.status == "pending").order_by(outbox.c.id)
    return [_outbox_row(row) for row in (await conn.execute(query.limit(limit))).mappings()]


async def _claim_heads(conn: AsyncConnection, limit: int) -> tuple[list[OutboxRow], bool]:
    """The heads of up to `limit` work orders, locked, then the rows queued behind them."""
    outbox = t.outbox
    earlier = outbox.alias("earlier")
    heads_query = (
        select(*_ROW_COLUMNS)
        .where(outbox.c.status == "pending")
        .where(
            ~exists().where(
                earlier.c.stream_id == outbox.c.stream_id,
                earlier.c.status == "pending",
                earlier.c.id < outbox.c.id,
            )
        )
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=outbox)
    )
    heads = [_outbox_row(row) for row in (await conn.execute(heads_query)).mappings()]
    if not heads:
        return [], False
    further_limit = limit * _FURTHER_ROWS_PER_HEAD
    # No other process can claim these: they are not heads while our locked head is
    # pending. The cap only bounds memory for a pathological backlog; ordered by id,
    # the cut leaves each work order a prefix, and the rest waits for the next round.
    further_query = (
        select(*_ROW_COLUMNS)
        .where(
            outbox.c.status == "pending",
            outbox.c.stream_id.in_(sorted({row.lane for row in heads})),
            outbox.c.id.not_in([row.id for row in heads]),
        )
        .order_by(outbox.c.id)
        .limit(further_limit)
    )
    further = [_outbox_row(row) for row in (await conn.execute(further_query)).mappings()]
    more = len(heads) == limit or len(further) == further_limit
    return heads + further, more
