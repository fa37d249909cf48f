"""The delivery worker's rows on SQL: claiming what is due, digests, and send outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
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
    .where(
        t.deliveries.c.id == bindparam("row_id"),
        t.deliveries.c.lease_token == bindparam("held_token"),
    )
    .values(
        lease_token=None,
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
        """Deliveries due by `now`, leased to this claim for `lease_seconds` under a new
        token: their due time moves to the lease's end, so no other claim takes them
        before it runs out, and only this claim's token records their outcomes."""
        d = t.deliveries
        query = (
            select(d)
            .where(d.c.status.in_([str(s) for s in _SENDABLE]), d.c.due_at <= now)
            .order_by(d.c.due_at)
            .limit(limit)
        )
        if not is_sqlite(self._engine):
            query = query.with_for_update(skip_locked=True)
        token = str(uuid.uuid4())
        async with self._store.transaction() as tx:
            conn = tx.connection
            rows = (await conn.execute(query)).mappings().all()
            if not rows:
                return []
            lease = now + timedelta(seconds=lease_seconds)
            await conn.execute(
                update(d)
                .where(d.c.id.in_([r["id"] for r in rows]))
                .values(due_at=lease, lease_token=token)
            )
        return [replace(delivery_of(r), lease_token=token) for r in rows]

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
    ) -> set[str]:
        """Store outcomes, their events, dead letters and settled digests, in one
        transaction; only those of rows their claim still holds. Returns the ids of the
        deliveries whose claim had lost its row (nothing of theirs is stored)."""

        def unit(conn: Connection) -> set[str]:
            lost = _lost_claims(conn, outcomes)
            for digest_id, status in (settled or {}).items():
                if digest_id in lost:
                    continue
                conn.execute(
                    update(t.deliveries)
                    .where(t.deliveries.c.digest_id == digest_id)
                    .values(status=str(status))
                )
            for letter in dead:
                if letter.delivery_id not in lost:
                    add_dead_letter(conn, letter)
            kept = [o for o in outcomes if o.delivery_id not in lost]
            if kept:
                conn.execute(_RECORD_OUTCOME, [_outcome_values(o) for o in kept])
            add_events(conn, [e for e in events if _delivery_of_event(e) not in lost])
            return lost

        if not (outcomes or events or dead or settled):
            return set()
        async with self._store.transaction() as tx:
            return await tx.connection.run_sync(unit)


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


def _lost_claims(conn: Connection, outcomes: Sequence[Outcome]) -> set[str]:
    """The deliveries of `outcomes` whose claim no longer holds the row: its lease ran out
    and another claim took it (or recorded it). The rows still held are locked until the
    transaction ends, so no claim takes them between this check and the update (on SQLite
    the writer's transaction holds every row)."""
    if not outcomes:
        return set()
    d = t.deliveries
    query = select(d.c.id, d.c.lease_token).where(d.c.id.in_([o.delivery_id for o in outcomes]))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    holders = {row.id: row.lease_token for row in conn.execute(query)}
    return {
        o.delivery_id
        for o in outcomes
        if o.lease_token is None or holders.get(o.delivery_id) != o.lease_token
    }


def _delivery_of_event(envelope: Envelope) -> str:
    # A notification event's subject names its delivery (`notification:<id>`).
    return envelope.subject.removeprefix("notification:")


def _outcome_values(o: Outcome) -> dict[str, Any]:
    return {
        "row_id": o.delivery_id,
        "held_token": o.lease_token,
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
