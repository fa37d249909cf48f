"""The SQL event store: streams with optimistic concurrency, outbox rows in the same commit.

Appends go through the group committer (see group_commit.py); reads go straight to
the database on their own pooled connections. The inline views and preconditions an
append may carry are registered here, one part per kind, in their lock order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.group_commit import GroupCommitter, PartOpener
from services.dispatch.adapters.inline import Written
from services.dispatch.adapters.load_guard import open_loads
from services.dispatch.adapters.order_numbers import open_counters
from services.dispatch.adapters.project_registry import ProjectRegistry
from services.dispatch.adapters.resident_index import ResidentReports
from services.dispatch.adapters.rows import SOURCE, idempotency_record, recorded_from_row
from services.dispatch.adapters.stream_timers import TimerTable, earliest
from services.dispatch.adapters.work_order_listing import WorkOrderListing
from services.dispatch.service_layer.ports import AppendBatch, AppendResult, IdempotencyRecord
from shared.database import Database
from shared.events.recorded import RecordedEvent

__all__ = ["INLINE_PARTS", "SOURCE", "SqlEventStore", "recorded_from_row"]

INLINE_PARTS: tuple[PartOpener, ...] = (
    open_loads,  # LoadGuard: the people's load locks first,
    open_counters,  # Numbering: then the number counters, both before any row lock;
    WorkOrderListing,  # WorkOrderView
    ResidentReports,  # ResidentEntry
    ProjectRegistry,  # ProjectView
    TimerTable,  # StreamTimers
)
"""The part of each kind of inline value (`ports.Inline`), in lock order."""


class SqlEventStore:
    """`EventStore` on SQLAlchemy async (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_group: int = 256,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self._database = Database(engine)
        self._committer = GroupCommitter(
            self._database, max_group, clock or (lambda: datetime.now(UTC)), INLINE_PARTS
        )

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each commit that wrote outbox rows (wakes the relay)."""

        def wrote_events(written: Sequence[Written]) -> None:
            if any(result.events for _, result in written):
                listener()

        self._committer.listeners.append(wrote_events)

    def on_timers(self, listener: Callable[[datetime], None]) -> None:
        """Call `listener` after each commit that wrote timer rows, with the earliest
        `fires_at` among them (wakes the timer scheduler if that is sooner than it sleeps)."""

        def wrote_timers(written: Sequence[Written]) -> None:
            first = earliest(written)
            if first is not None:
                listener(first)

        self._committer.listeners.append(wrote_timers)

    async def close(self) -> None:
        """Stop the writer task."""
        await self._committer.close()
        self._database.close()

    async def load(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of a stream in version order, upcast to the current schemas."""
        return await self._database.run(_load_stream, stream_id)

    async def append(self, batch: AppendBatch) -> AppendResult:
        """Append atomically with the next group; raise `ConcurrencyConflict` if stale."""
        return await self._committer.submit(batch)

    async def idempotent_result(
        self, tenant: str, subject: str, key: str
    ) -> IdempotencyRecord | None:
        """The stored first result of the caller's command key, if any."""
        return await self._database.run(_idempotency_record, tenant, subject, key)

    async def outbox_backlog(self) -> int:
        """Outbox rows not yet acknowledged by JetStream."""
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(t.outbox).where(t.outbox.c.status == "pending")
            )
        return int(count or 0)


# Built once: constructing a statement costs more than running it from the cache.
_STREAM = (
    select(t.events)
    .where(t.events.c.stream_id == bindparam("stream_id"))
    .order_by(t.events.c.version)
)


def _load_stream(conn: Connection, stream_id: str) -> list[RecordedEvent]:
    return [
        recorded_from_row(row) for row in conn.execute(_STREAM, {"stream_id": stream_id}).mappings()
    ]


def _idempotency_record(
    conn: Connection, tenant: str, subject: str, key: str
) -> IdempotencyRecord | None:
    c = t.idempotency_keys.c
    caller = and_(c.tenant == tenant, c.subject == subject, c.key == key)
    row = conn.execute(select(t.idempotency_keys).where(caller)).mappings().first()
    return idempotency_record(row) if row is not None else None
