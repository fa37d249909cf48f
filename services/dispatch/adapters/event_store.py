"""The SQL event store: streams with optimistic concurrency, outbox rows in the same commit.

Appends from concurrent commands are group-committed: one writer task takes every
append waiting, writes each inside its own savepoint (so a conflict fails only that
command) and commits them together. That turns N fsyncs into one, and on SQLite it
is also the single writer the database wants.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.database import IMMEDIATE
from services.dispatch.service_layer.ports import AppendBatch, AppendResult, IdempotencyRecord
from shared.envelope import Envelope
from shared.errors import ConcurrencyConflict
from shared.events.catalogue import upcast
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.subjects import event_subject

SOURCE = "/dispatch"

EVENTS_APPENDED = Counter(
    "dispatch_events_appended_total", "Events appended to the store", ["type"]
)
CONFLICTS = Counter(
    "dispatch_append_conflicts_total", "Appends refused for a stale expected version"
)
GROUP_SIZE = Histogram(
    "dispatch_group_commit_size",
    "Appends committed together in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


@dataclass(slots=True)
class _Pending:
    batch: AppendBatch
    future: asyncio.Future[AppendResult]


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
        self._max_group = max_group
        self._now = clock or (lambda: datetime.now(UTC))
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._commit_listeners: list[Callable[[], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each commit that wrote outbox rows (wakes the relay)."""
        self._commit_listeners.append(listener)

    async def close(self) -> None:
        """Stop the writer task after the appends already queued."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def load(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of a stream in version order, upcast to the current schemas."""
        query = (
            select(t.events).where(t.events.c.stream_id == stream_id).order_by(t.events.c.version)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [recorded_from_row(row) for row in rows]

    async def idempotent_result(self, tenant: str, key: str) -> IdempotencyRecord | None:
        """The stored first result of a command key, if any."""
        async with self.engine.connect() as conn:
            return await _idempotency(conn, tenant, key)

    async def append(self, batch: AppendBatch) -> AppendResult:
        """Queue the batch for the next group commit and wait for its outcome."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="event-store-writer")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(batch, future))
        return await future

    async def _write_loop(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self._max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            await self._commit_group(group)

    async def _commit_group(self, group: list[_Pending]) -> None:
        outcomes: list[AppendResult | BaseException] = []
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(**{IMMEDIATE: True})
                async with conn.begin():
                    for pending in group:
                        outcomes.append(await self._append_one(conn, pending.batch))
        except BaseException as exc:  # the whole transaction failed: every append in it did
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                    )
            if not isinstance(exc, Exception):
                raise
            return
        GROUP_SIZE.observe(len(group))
        wrote = False
        for pending, outcome in zip(group, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                wrote = wrote or bool(outcome.events)
                pending.future.set_result(outcome)
        if wrote:
            for listener in self._commit_listeners:
                listener()

    async def _append_one(
        self, conn: AsyncConnection, batch: AppendBatch
    ) -> AppendResult | BaseException:
        savepoint = await conn.begin_nested()
        try:
            result = await self._write(conn, batch)
        except IntegrityError:
            await savepoint.rollback()
            if batch.idempotency is not None:
                earlier = await _idempotency(conn, batch.idempotency.tenant, batch.idempotency.key)
                if earlier is not None:
                    return AppendResult(
                        events=(), version=batch.expected_version, duplicate_of=earlier
                    )
            CONFLICTS.inc()
            return _conflict(batch)
        except ConcurrencyConflict as exc:
            await savepoint.rollback()
            CONFLICTS.inc()
            return exc
        except Exception as exc:
            await savepoint.rollback()
            return exc
        await savepoint.commit()
        return result

    async def _write(self, conn: AsyncConnection, batch: AppendBatch) -> AppendResult:
        if batch.idempotency is not None:
            earlier = await _idempotency(conn, batch.idempotency.tenant, batch.idempotency.key)
            if earlier is not None:
                return AppendResult(events=(), version=batch.expected_version, duplicate_of=earlier)
        if batch.expected_version > 0:
            head = await conn.scalar(
                select(t.events.c.version).where(
                    and_(
                        t.events.c.stream_id == batch.stream_id,
                        t.events.c.version == batch.expected_version,
                    )
                )
            )
            if head is None:
                raise _conflict(batch)
        recorded_at = batch.recorded_at or self._now()
        recorded = tuple(
            RecordedEvent(
                stream_id=batch.stream_id,
                version=batch.expected_version + i,
                event_id=new.event_id,
                type_name=new.type_name,
                schema_version=new.schema_version,
                tenant=batch.tenant,
                project=batch.project,
                occurred_at=new.occurred_at,
                recorded_at=recorded_at,
                data=new.data,
                metadata=batch.metadata,
            )
            for i, new in enumerate(batch.events, start=1)
        )
        if recorded:
            await conn.execute(insert(t.events), [_event_row(e) for e in recorded])
            await conn.execute(insert(t.outbox), [_outbox_row(e, recorded_at) for e in recorded])
        version = batch.expected_version + len(recorded)
        if batch.idempotency is not None:
            record = batch.idempotency
            await conn.execute(
                insert(t.idempotency_keys).values(
                    tenant=record.tenant,
                    key=record.key,
                    fingerprint=record.fingerprint,
                    stream_id=record.stream_id,
                    status_code=record.status_code,
                    response=record.response,
                    created_at=recorded_at,
                )
            )
        if batch.work_order_view is not None:
            await self._upsert_work_order(conn, batch, version, recorded_at)
        if batch.project_view is not None:
            await self._upsert_project(conn, batch, version)
        for event in recorded:
            EVENTS_APPENDED.labels(event.type_name).inc()
        return AppendResult(events=recorded, version=version)

    async def _upsert_work_order(
        self, conn: AsyncConnection, batch: AppendBatch, version: int, now: datetime
    ) -> None:
        view = batch.work_order_view
        assert view is not None
        values: dict[str, Any] = {
            "tenant": view.tenant,
            "project": view.project,
            "kind": view.kind,
            "category": view.category,
            "urgency": view.urgency,
            "status": view.status,
            "owner": view.owner,
            "assignee": view.assignee,
            "reporter_resident_id": view.reporter_resident_id,
            "building": view.building,
            "reported_at": view.reported_at,
            "updated_at": now,
            "version": version,
            "summary": view.summary,
        }
        await _upsert(conn, t.work_orders, {"id": batch.stream_id}, values)

    async def _upsert_project(
        self, conn: AsyncConnection, batch: AppendBatch, version: int
    ) -> None:
        view = batch.project_view
        assert view is not None
        values = {
            "name": view.name,
            "time_zone": view.time_zone,
            "households": view.households,
            "details": view.details,
            "version": version,
        }
        await _upsert(conn, t.projects, {"tenant": view.tenant, "project": view.project}, values)

    async def outbox_backlog(self) -> int:
        """Outbox rows not yet acknowledged by JetStream."""
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(t.outbox).where(t.outbox.c.status == "pending")
            )
        return int(count or 0)


async def _upsert(
    conn: AsyncConnection, table: Any, keys: dict[str, Any], values: dict[str, Any]
) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**keys, **values)
    await conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=values))


def _conflict(batch: AppendBatch) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        f"stream {batch.stream_id} changed since version {batch.expected_version}; reload and retry",
        expected_version=batch.expected_version,
    )


async def _idempotency(conn: AsyncConnection, tenant: str, key: str) -> IdempotencyRecord | None:
    row = (
        (
            await conn.execute(
                select(t.idempotency_keys).where(
                    and_(t.idempotency_keys.c.tenant == tenant, t.idempotency_keys.c.key == key)
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return IdempotencyRecord(
        tenant=row["tenant"],
        key=row["key"],
        fingerprint=row["fingerprint"],
        stream_id=row["stream_id"],
        status_code=row["status_code"],
        response=row["response"],
    )


def _event_row(event: RecordedEvent) -> dict[str, Any]:
    return {
        "stream_id": event.stream_id,
        "version": event.version,
        "event_id": event.event_id,
        "type_name": event.type_name,
        "schema_version": event.schema_version,
        "tenant": event.tenant,
        "project": event.project,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "data": event.data,
        "event_metadata": event.metadata.model_dump(mode="json"),
    }


def _outbox_row(event: RecordedEvent, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "version": event.version,
        "subject": event_subject(event.tenant, event.project, event.type_name),
        "payload": Envelope.from_recorded(event, SOURCE).to_json(),
        "created_at": now,
    }


def recorded_from_row(row: Any) -> RecordedEvent:
    """Turn an `events` row into a `RecordedEvent`, upcast to the current schema."""
    version, data = upcast(row["type_name"], row["schema_version"], dict(row["data"]))
    return RecordedEvent(
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=row["event_id"],
        type_name=row["type_name"],
        schema_version=version,
        tenant=row["tenant"],
        project=row["project"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        data=data,
        metadata=EventMetadata.model_validate(row["event_metadata"]),
    )
