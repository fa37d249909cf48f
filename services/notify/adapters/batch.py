"""`NotifyBatch` over one transaction's connection: what a batch of events reads and writes.

It runs synchronously inside the transaction (`AsyncConnection.run_sync`), so the
handler's unit of work sees its own writes and nothing else commits in between.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from services.notify.adapters import tables as t
from services.notify.adapters.store import dialect_insert
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.domain.routing import WorkOrderFacts
from services.notify.service_layer.ports import Delivery, FactsAt, NewDeadLetter, NewDelivery
from shared.envelope import Envelope

# The statements the consumer runs for every batch are built once and given their values
# as parameters: building them with `.values(...)` each time spent more of notify's CPU
# in SQLAlchemy's cache-key work than SQLite spent running them.
INSERT_OUTBOX = insert(t.outbox)


@cache
def _insert_deliveries(dialect: str) -> Any:
    # RETURNING tells which rows were new (a conflicting one returns nothing), for the
    # whole batch in one statement.
    stmt = dialect_insert(dialect, t.deliveries)
    return stmt.on_conflict_do_nothing(index_elements=[t.deliveries.c.dedup_key]).returning(
        t.deliveries.c.dedup_key
    )


@cache
def _upsert_facts(dialect: str) -> Any:
    stmt = dialect_insert(dialect, t.work_orders)
    return stmt.on_conflict_do_update(
        index_elements=[t.work_orders.c.id],
        set_={"version": stmt.excluded.version, "facts": stmt.excluded.facts},
    )


# A transaction's lock per work order on PostgreSQL, taken in one statement and in one
# order (of the keys) by every transaction, so two batches sharing orders never deadlock.
_HOLD_WORK_ORDERS = text(
    "SELECT pg_advisory_xact_lock(k) FROM ("
    " SELECT DISTINCT hashtextextended('notify-work-order:' || id, 0) AS k"
    " FROM unnest(CAST(:ids AS text[])) AS id ORDER BY k"
    ") AS held"
)

_NEW_DELIVERY_FIELDS = [f.name for f in fields(NewDelivery)]
_DELIVERY_FIELDS = [f.name for f in fields(Delivery) if f.name not in ("channel", "status")]

PENDING = (
    DeliveryStatus.QUEUED,
    DeliveryStatus.DEFERRED,
    DeliveryStatus.FAILED,
    DeliveryStatus.DIGESTED,
)
"""The states of a delivery that may still be sent."""


def delivery_of(row: Any) -> Delivery:
    """A delivery row as the worker reads it."""
    return Delivery(
        **{name: row[name] for name in _DELIVERY_FIELDS},
        channel=ChannelName(row["channel"]),
        status=DeliveryStatus(row["status"]),
    )


def add_deliveries(conn: Connection, deliveries: Sequence[NewDelivery]) -> set[str]:
    """Insert deliveries whose dedup key does not exist yet; return the keys inserted."""
    if not deliveries:
        return set()
    rows = []
    for delivery in deliveries:
        # Field by field: `asdict` deep-copies every value, a visible cost per row.
        values = {name: getattr(delivery, name) for name in _NEW_DELIVERY_FIELDS}
        values.update(
            channel=str(delivery.channel), status=str(delivery.status), attempts=0, event_count=0
        )
        rows.append(values)
    result = conn.execute(_insert_deliveries(conn.dialect.name), rows)
    return set(result.scalars())


def add_events(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Queue notify events for publishing (the outbox) in this order, in one statement."""
    if not envelopes:
        return
    conn.execute(
        INSERT_OUTBOX,
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


def add_dead_letter(conn: Connection, letter: NewDeadLetter) -> None:
    """Keep a dead letter; a key recorded again updates its letter (and makes it
    retryable again) instead of adding another."""
    values = asdict(letter)
    values["created_at"] = values.pop("at")
    values["letter_key"] = values.pop("key")
    again = {k: values[k] for k in ("error", "attempts", "created_at", "data")}
    stmt = dialect_insert(conn.dialect.name, t.dead_letters).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.dead_letters.c.letter_key], set_={**again, "retried_at": None}
        )
    )


class SqlNotifyBatch:
    """The rows of one batch of events (implements `ports.NotifyBatch`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name

    def hold_work_orders(self, work_order_ids: Collection[str]) -> None:
        """Lock those work orders until the transaction ends (PostgreSQL: an advisory lock
        per order; SQLite has one writer at a time, whose transaction holds them all)."""
        if work_order_ids and self._dialect == "postgresql":
            self._conn.execute(_HOLD_WORK_ORDERS, {"ids": sorted(set(work_order_ids))})

    def facts(self, work_order_ids: Collection[str]) -> dict[str, tuple[int, WorkOrderFacts]]:
        """The folded facts and last sequence applied of those work orders notify has seen."""
        if not work_order_ids:
            return {}
        w = t.work_orders
        rows = self._conn.execute(
            select(w.c.id, w.c.version, w.c.facts).where(w.c.id.in_(list(work_order_ids)))
        )
        return {row.id: (row.version, WorkOrderFacts.from_json(row.facts)) for row in rows}

    def project_time_zones(
        self, projects: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The registered time zones of those (tenant, project) pairs notify has seen."""
        if not projects:
            return {}
        p = t.projects
        # Filtered by both columns and then by pair: fewer rows than a tenant's projects.
        rows = self._conn.execute(
            select(p.c.tenant, p.c.project, p.c.time_zone).where(
                p.c.tenant.in_({tenant for tenant, _ in projects}),
                p.c.project.in_({project for _, project in projects}),
            )
        )
        wanted = set(projects)
        return {
            (row.tenant, row.project): str(row.time_zone)
            for row in rows
            if (row.tenant, row.project) in wanted
        }

    def alerts_in_window(self, recipient: str, channel: str, window_start: datetime) -> int:
        """How many alerts to a recipient on a channel are already in that window."""
        d = t.deliveries
        count = self._conn.scalar(
            select(func.count())
            .select_from(d)
            .where(
                d.c.recipient == recipient,
                d.c.channel == str(channel),
                d.c.window_start == window_start,
                d.c.alert.is_(True),
            )
        )
        return int(count or 0)

    def save_facts(self, work_orders: Mapping[str, FactsAt]) -> None:
        """Store those work orders' facts (by work-order id), in one statement."""
        if not work_orders:
            return
        self._conn.execute(
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

    def save_project(self, tenant: str, project: str, name: str, time_zone: str) -> None:
        """Record a project's name and time zone."""
        stmt = dialect_insert(self._dialect, t.projects).values(
            tenant=tenant, project=project, name=name, time_zone=time_zone
        )
        self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.projects.c.tenant, t.projects.c.project],
                set_={"name": name, "time_zone": time_zone},
            )
        )

    def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> set[str]:
        """Insert deliveries whose dedup key does not exist yet; return the keys inserted."""
        return add_deliveries(self._conn, deliveries)

    def add_events(self, envelopes: Sequence[Envelope]) -> None:
        """Queue notify events for publishing (the outbox) in this order, in one statement."""
        add_events(self._conn, envelopes)

    def skip_pending(self, tenant: str, recipient: str, reason: str) -> list[Delivery]:
        """Mark the deliveries to `recipient` not sent yet `skipped` for `reason`."""
        d = t.deliveries
        pending = (
            d.c.tenant == tenant,
            d.c.recipient == recipient,
            d.c.status.in_([str(s) for s in PENDING]),
        )
        rows = [delivery_of(r) for r in self._conn.execute(select(d).where(*pending)).mappings()]
        if rows:
            self._conn.execute(
                update(d)
                .where(d.c.id.in_([r.id for r in rows]))
                .values(
                    status=str(DeliveryStatus.SKIPPED),
                    status_reason=reason,
                    due_at=None,
                    event_count=d.c.event_count + 1,
                )
            )
        return rows


class SqlRetryBatch(SqlNotifyBatch):
    """A batch retrying a dead letter (implements `ports.RetryBatch`)."""

    def requeue_delivery(self, delivery_id: str, at: datetime) -> None:
        """Send a dead delivery again from its first attempt."""
        self._conn.execute(
            update(t.deliveries)
            .where(t.deliveries.c.id == delivery_id)
            .values(status=str(DeliveryStatus.QUEUED), attempts=0, due_at=at)
        )

    def mark_retried(self, dead_letter_id: int, at: datetime) -> None:
        """Record that a dead letter was retried."""
        self._conn.execute(
            update(t.dead_letters)
            .where(t.dead_letters.c.id == dead_letter_id)
            .values(retried_at=at)
        )
