"""The delivery worker's rows on SQL: claiming what is due, digests, and send outcomes."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.batch import (
    add_dead_letter,
    add_deliveries,
    add_events,
    delivery_of,
)
from services.notify.adapters.store import SqlStore
from services.notify.domain.digest import DigestItem
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.service_layer.ports import (
    Delivery,
    DigestGroup,
    NewDeadLetter,
    NewDelivery,
    Outcome,
)
from shared.database import is_sqlite
from shared.envelope import Envelope

_SENDABLE = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED, DeliveryStatus.FAILED)

# Built once and given its values as parameters (see `batch`): one statement per round.
_RECORD_OUTCOME = (
    update(t.deliveries)
    .where(t.deliveries.c.id == bindparam("row_id"))
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("new_attempts"),
        event_count=bindparam("new_event_count"),
        due_at=bindparam("new_due_at"),
        sent_at=bindparam("new_sent_at"),
        status_reason=bindparam("new_reason"),
        # A success keeps the last error: the record shows why earlier attempts failed.
        last_error=func.coalesce(bindparam("new_error"), t.deliveries.c.last_error),
    )
)


class SqlSendLog:
    """Implements `ports.SendLog`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._store = SqlStore(engine)

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[Delivery]:
        """Deliveries due by `now`, leased to this worker for `lease_seconds`."""
        d = t.deliveries
        query = (
            select(d)
            .where(d.c.status.in_([str(s) for s in _SENDABLE]), d.c.due_at <= now)
            .order_by(d.c.due_at)
            .limit(limit)
        )
        if not is_sqlite(self._engine):
            query = query.with_for_update(skip_locked=True)
        async with self._store.transaction() as tx:
            conn = tx.connection
            rows = (await conn.execute(query)).mappings().all()
            if not rows:
                return []
            lease = now + timedelta(seconds=lease_seconds)
            await conn.execute(
                update(d).where(d.c.id.in_([r["id"] for r in rows])).values(due_at=lease)
            )
        return [delivery_of(r) for r in rows]

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
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        groups: dict[tuple[str, str, str, datetime], list[Any]] = {}
        for row in rows:
            key = (row["tenant"], row["recipient"], row["channel"], row["window_start"])
            groups.setdefault(key, []).append(row)
        return [
            _digest_group(tenant, recipient, channel, window_start, items)
            for (tenant, recipient, channel, window_start), items in list(groups.items())[:limit]
        ]

    async def add_digest(self, digest: NewDelivery, item_ids: Sequence[str]) -> bool:
        """Queue a digest carrying those alerts unless its dedup key exists."""

        def unit(conn: Connection) -> bool:
            if digest.dedup_key not in add_deliveries(conn, [digest]):
                return False
            conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.id.in_(list(item_ids)))
                .values(digest_id=digest.id)
            )
            return True

        async with self._store.transaction() as tx:
            return await tx.connection.run_sync(unit)

    async def digest_items(self, digest_ids: Collection[str]) -> dict[str, list[str]]:
        """The alerts each of those digests carries, oldest first."""
        if not digest_ids:
            return {}
        d = t.deliveries
        query = (
            select(d.c.digest_id, d.c.id)
            .where(d.c.digest_id.in_(list(digest_ids)))
            .order_by(d.c.created_at, d.c.id)
        )
        found: dict[str, list[str]] = {digest_id: [] for digest_id in digest_ids}
        async with self._engine.connect() as conn:
            for row in await conn.execute(query):
                found[str(row.digest_id)].append(str(row.id))
        return found

    async def record_outcomes(
        self,
        outcomes: Sequence[Outcome],
        events: Sequence[Envelope],
        dead: Sequence[NewDeadLetter] = (),
        settled: Mapping[str, DeliveryStatus] | None = None,
    ) -> None:
        """Store outcomes, their events, dead letters and settled digests, in one transaction."""

        def unit(conn: Connection) -> None:
            for digest_id, status in (settled or {}).items():
                conn.execute(
                    update(t.deliveries)
                    .where(t.deliveries.c.digest_id == digest_id)
                    .values(status=str(status))
                )
            for letter in dead:
                add_dead_letter(conn, letter)
            if outcomes:
                conn.execute(_RECORD_OUTCOME, [_outcome_values(o) for o in outcomes])
            add_events(conn, events)

        if not (outcomes or events or dead or settled):
            return
        async with self._store.transaction() as tx:
            await tx.connection.run_sync(unit)


class SqlProjectZones:
    """Implements `ports.ProjectZones`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def project_time_zone(self, tenant: str, project: str) -> str | None:
        """The time zone registered for a project, if notify has seen it."""
        p = t.projects
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(p.c.time_zone).where(p.c.tenant == tenant, p.c.project == project)
            )
        return str(value) if value is not None else None


def _outcome_values(o: Outcome) -> dict[str, Any]:
    return {
        "row_id": o.delivery_id,
        "new_status": str(o.status),
        "new_attempts": o.attempts,
        "new_event_count": o.event_count,
        "new_error": o.error,
        "new_due_at": o.due_at,
        "new_sent_at": o.sent_at,
        "new_reason": o.reason,
    }


def _digest_group(
    tenant: str, recipient: str, channel: str, window_start: datetime, items: list[Any]
) -> DigestGroup:
    first = items[0]
    return DigestGroup(
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
