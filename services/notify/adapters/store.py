"""notify's storage on SQL (SQLite or PostgreSQL) with SQLAlchemy Core."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notify.adapters import tables as t
from services.notify.domain.digest import DigestItem
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.domain.routing import WorkOrderFacts
from services.notify.service_layer.ports import (
    DeadLetterRecord,
    Delivery,
    DigestGroup,
    FactsAt,
    NewDeadLetter,
    NewDelivery,
    Outcome,
)
from shared.database import is_sqlite
from shared.envelope import Envelope

_SENDABLE = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED, DeliveryStatus.FAILED)

_WRITERS: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


def _sqlite_writer(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[Any]:
    """On SQLite, this process's writers (consumer, sender, outbox) take turns here.

    SQLite has one writer at a time; writers that meet at its file lock wait in its busy
    handler, which sleeps in growing steps of up to 100 ms. That was the p99 latency of
    the benchmark at 200 events/s (about 2 s on SQLite, 0.1 s on PostgreSQL). Queued on
    a lock instead, each starts the moment the previous one commits. Other processes on
    the same file still meet at the file lock, as before.
    """
    if not is_sqlite(engine):
        return contextlib.nullcontext()
    lock = _WRITERS.get(engine.sync_engine)
    if lock is None:
        lock = _WRITERS[engine.sync_engine] = asyncio.Lock()
    return lock


# The statements the consumer and sender run for every event and send are built once and
# given their values as parameters: building them with `.values(...)` each time spent
# more of notify's CPU in SQLAlchemy's cache-key work than SQLite spent running them.
_INSERT_OUTBOX = insert(t.outbox)
_RECORD_OUTCOME = (
    update(t.deliveries)
    .where(t.deliveries.c.id == bindparam("row_id"))
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("new_attempts"),
        event_count=bindparam("new_event_count"),
        due_at=bindparam("new_due_at"),
        sent_at=bindparam("new_sent_at"),
        # A success keeps the last error: the record shows why earlier attempts failed.
        last_error=func.coalesce(bindparam("new_error"), t.deliveries.c.last_error),
    )
)


def _dialect_insert(dialect: str, table: Any) -> Any:
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


@cache
def _insert_deliveries(dialect: str) -> Any:
    # RETURNING tells which rows were new (a conflicting one returns nothing), for the
    # whole batch in one statement.
    stmt = _dialect_insert(dialect, t.deliveries)
    return stmt.on_conflict_do_nothing(index_elements=[t.deliveries.c.dedup_key]).returning(
        t.deliveries.c.dedup_key
    )


@cache
def _upsert_facts(dialect: str) -> Any:
    stmt = _dialect_insert(dialect, t.work_orders)
    return stmt.on_conflict_do_update(
        index_elements=[t.work_orders.c.id],
        set_={"version": stmt.excluded.version, "facts": stmt.excluded.facts},
    )


class SqlTransaction:
    """One transaction on notify's tables (implements `ports.Transaction`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name

    @property
    def connection(self) -> AsyncConnection:
        """The connection this transaction runs on."""
        return self._conn

    def insert_ignoring(self, table: Any, **values: Any) -> Any:
        """An INSERT of this dialect, ready for `on_conflict_do_nothing` or `_do_update`."""
        return _dialect_insert(self._dialect, table).values(**values)

    async def facts(self, work_order_ids: Collection[str]) -> dict[str, tuple[int, WorkOrderFacts]]:
        """The folded facts and last sequence applied of those work orders notify has seen."""
        if not work_order_ids:
            return {}
        rows = await self._conn.execute(
            select(t.work_orders.c.id, t.work_orders.c.version, t.work_orders.c.facts).where(
                t.work_orders.c.id.in_(list(work_order_ids))
            )
        )
        return {row.id: (row.version, WorkOrderFacts.from_json(row.facts)) for row in rows}

    async def save_facts(self, work_orders: Mapping[str, FactsAt]) -> None:
        """Store those work orders' facts (by work-order id), in one statement."""
        if not work_orders:
            return
        await self._conn.execute(
            _upsert_facts(self._dialect),
            [
                {
                    "id": work_order_id,
                    "tenant": at.tenant,
                    "project": at.project,
                    "version": at.version,
                    "facts": at.facts.to_json(),
                }
                for work_order_id, at in work_orders.items()
            ],
        )

    async def save_project(self, tenant: str, project: str, name: str, time_zone: str) -> None:
        """Record a project's name and time zone."""
        stmt = self.insert_ignoring(
            t.projects, tenant=tenant, project=project, name=name, time_zone=time_zone
        )
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.projects.c.tenant, t.projects.c.project],
                set_={"name": name, "time_zone": time_zone},
            )
        )

    async def project_time_zone(self, tenant: str, project: str) -> str | None:
        """The time zone registered for a project, if notify has seen it."""
        value = await self._conn.scalar(
            select(t.projects.c.time_zone).where(
                t.projects.c.tenant == tenant, t.projects.c.project == project
            )
        )
        return str(value) if value is not None else None

    async def project_time_zones(
        self, projects: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The registered time zones of those (tenant, project) pairs notify has seen."""
        if not projects:
            return {}
        # Filtered by both columns and then by pair: fewer rows than a tenant's projects.
        rows = await self._conn.execute(
            select(t.projects.c.tenant, t.projects.c.project, t.projects.c.time_zone).where(
                t.projects.c.tenant.in_({tenant for tenant, _ in projects}),
                t.projects.c.project.in_({project for _, project in projects}),
            )
        )
        wanted = set(projects)
        return {
            (row.tenant, row.project): str(row.time_zone)
            for row in rows
            if (row.tenant, row.project) in wanted
        }

    async def alerts_in_window(self, recipient: str, channel: str, window_start: datetime) -> int:
        """How many alerts to a recipient on a channel are already in that window."""
        count = await self._conn.scalar(
            select(func.count())
            .select_from(t.deliveries)
            .where(
                t.deliveries.c.recipient == recipient,
                t.deliveries.c.channel == str(channel),
                t.deliveries.c.window_start == window_start,
                t.deliveries.c.alert.is_(True),
            )
        )
        return int(count or 0)

    async def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> set[str]:
        """Insert deliveries whose dedup key does not exist yet; return the keys inserted."""
        if not deliveries:
            return set()
        rows = []
        for delivery in deliveries:
            # Field by field: `asdict` deep-copies every value, a visible cost per row.
            values = {name: getattr(delivery, name) for name in _NEW_DELIVERY_FIELDS}
            values.update(
                channel=str(delivery.channel),
                status=str(delivery.status),
                attempts=0,
                event_count=0,
            )
            rows.append(values)
        result = await self._conn.execute(_insert_deliveries(self._dialect), rows)
        return set(result.scalars())

    async def add_events(self, envelopes: Sequence[Envelope]) -> None:
        """Queue notify events for publishing (the outbox) in this order, in one statement."""
        if not envelopes:
            return
        await self._conn.execute(
            _INSERT_OUTBOX,
            [
                {
                    "subject": envelope.nats_subject(),
                    "msg_id": str(envelope.id),
                    "body": envelope.to_json(),
                    "created_at": envelope.time,
                }
                for envelope in envelopes
            ],
        )

    async def add_dead_letter(self, letter: NewDeadLetter) -> None:
        """Record a dead letter."""
        values = asdict(letter)
        values["created_at"] = values.pop("at")
        values["letter_key"] = values.pop("key")
        again = {k: values[k] for k in ("error", "attempts", "created_at", "data")}
        await self._conn.execute(
            self.insert_ignoring(t.dead_letters, **values).on_conflict_do_update(
                index_elements=[t.dead_letters.c.letter_key], set_={**again, "retried_at": None}
            )
        )

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Store the outcomes of sends, in one statement."""
        if not outcomes:
            return
        await self._conn.execute(
            _RECORD_OUTCOME,
            [
                {
                    "row_id": o.delivery_id,
                    "new_status": str(o.status),
                    "new_attempts": o.attempts,
                    "new_event_count": o.event_count,
                    "new_error": o.error,
                    "new_due_at": o.due_at,
                    "new_sent_at": o.sent_at,
                }
                for o in outcomes
            ],
        )

    async def settle_digest_items(self, digest_id: str, status: DeliveryStatus) -> list[str]:
        """Give a digest's items the digest's final status; returns their ids."""
        ids = list(
            (
                await self._conn.scalars(
                    select(t.deliveries.c.id)
                    .where(t.deliveries.c.digest_id == digest_id)
                    .order_by(t.deliveries.c.created_at, t.deliveries.c.id)
                )
            ).all()
        )
        if ids:
            await self._conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.digest_id == digest_id)
                .values(status=str(status))
            )
        return [str(i) for i in ids]

    async def attach_digest_items(self, digest_id: str, item_ids: Sequence[str]) -> None:
        """Mark alerts as carried by a digest."""
        await self._conn.execute(
            update(t.deliveries)
            .where(t.deliveries.c.id.in_(list(item_ids)))
            .values(digest_id=digest_id)
        )

    async def dead_letter(self, dead_letter_id: int) -> DeadLetterRecord | None:
        """One dead letter (the write transaction already holds the lock on SQLite)."""
        query = select(t.dead_letters).where(t.dead_letters.c.id == dead_letter_id)
        if self._dialect == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        if row is None:
            return None
        return DeadLetterRecord(
            id=row["id"],
            kind=row["kind"],
            tenant=row["tenant"],
            project=row["project"],
            delivery_id=row["delivery_id"],
            data=row["data"],
            error=row["error"],
            retried_at=row["retried_at"],
        )

    async def mark_retried(self, dead_letter_id: int, at: datetime) -> None:
        """Record that a dead letter was retried."""
        await self._conn.execute(
            update(t.dead_letters)
            .where(t.dead_letters.c.id == dead_letter_id)
            .values(retried_at=at)
        )

    async def requeue_delivery(self, delivery_id: str, at: datetime) -> None:
        """Send a dead delivery again from its first attempt."""
        await self._conn.execute(
            update(t.deliveries)
            .where(t.deliveries.c.id == delivery_id)
            .values(status=str(DeliveryStatus.QUEUED), attempts=0, due_at=at)
        )


class SqlStore:
    """notify's storage (implements `ports.Store`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        """A write transaction, committed when the block ends without an error.

        Not to be nested: on SQLite a second one in the same task would wait for ever.
        """
        async with _sqlite_writer(self.engine), self.engine.begin() as conn:
            yield SqlTransaction(conn)

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[Delivery]:
        """Deliveries due by `now`, leased to this worker for `lease_seconds`."""
        d = t.deliveries
        query = (
            select(d)
            .where(d.c.status.in_([str(s) for s in _SENDABLE]), d.c.due_at <= now)
            .order_by(d.c.due_at)
            .limit(limit)
        )
        if not is_sqlite(self.engine):
            query = query.with_for_update(skip_locked=True)
        async with self.transaction() as tx:
            conn = tx.connection
            rows = (await conn.execute(query)).mappings().all()
            if not rows:
                return []
            lease = now + timedelta(seconds=lease_seconds)
            await conn.execute(
                update(d).where(d.c.id.in_([r["id"] for r in rows])).values(due_at=lease)
            )
        return [_delivery(r) for r in rows]

    async def due_digests(self, now: datetime, limit: int) -> list[DigestGroup]:
        """Digest groups whose window has closed."""
        d = t.deliveries
        query = (
            select(d)
            .where(
                d.c.status == str(DeliveryStatus.DIGESTED),
                d.c.digest_id.is_(None),
                d.c.due_at <= now,
            )
            .order_by(d.c.recipient, d.c.channel, d.c.window_start, d.c.created_at, d.c.id)
            .limit(limit * 50)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        groups: dict[tuple[str, str, str, datetime], list[Any]] = {}
        for row in rows:
            key = (row["tenant"], row["recipient"], row["channel"], row["window_start"])
            groups.setdefault(key, []).append(row)
        result = []
        for (tenant, recipient, channel, window_start), items in list(groups.items())[:limit]:
            first = items[0]
            result.append(
                DigestGroup(
                    tenant=tenant,
                    project=first["project"],
                    recipient=recipient,
                    recipient_name=first["recipient_name"],
                    channel=ChannelName(channel),
                    address=first["address"],
                    language=first["language"],
                    correlation_id=first["correlation_id"],
                    window_start=window_start,
                    items=tuple(
                        DigestItem(
                            delivery_id=i["id"],
                            subject=i["subject"],
                            text=i["body_text"],
                            created_at=i["created_at"],
                        )
                        for i in items
                    ),
                )
            )
        return result


_DELIVERY_FIELDS = [f.name for f in fields(Delivery) if f.name not in ("channel", "status")]
_NEW_DELIVERY_FIELDS = [f.name for f in fields(NewDelivery)]


def _delivery(row: Any) -> Delivery:
    return Delivery(
        **{name: row[name] for name in _DELIVERY_FIELDS},
        channel=ChannelName(row["channel"]),
        status=DeliveryStatus(row["status"]),
    )
