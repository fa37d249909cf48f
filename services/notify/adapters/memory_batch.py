"""notify's batch rows in memory: the `NotifyRecorder` without a database.

For tests of the consumer's handler that are not about storage: they run in
milliseconds. It keeps one process's rows only, so it is never what the service runs
on. A batch commits all or nothing through `shared.memory_tracking`; the rows are those
the handler writes over SQL: work-order facts, projects, deliveries (one per dedup key)
and the outbox's events.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.notify.domain.model import DeliveryStatus
from services.notify.domain.routing import WorkOrderFacts
from services.notify.service_layer.ports import (
    Delivery,
    FactsAt,
    NewDeadLetter,
    NewDelivery,
    NotifyBatch,
)
from shared.envelope import Envelope
from shared.memory_tracking import InMemoryTrackingRecorder


@dataclass(frozen=True, slots=True)
class ProjectRow:
    """A project as notify knows it."""

    name: str
    time_zone: str


@dataclass
class NotifyRows:
    """What the consumer's batches have committed."""

    work_orders: dict[str, FactsAt] = field(default_factory=dict)
    projects: dict[tuple[str, str], ProjectRow] = field(default_factory=dict)
    deliveries: dict[str, NewDelivery] = field(default_factory=dict)
    """By dedup key, in the order planned."""
    outbox: list[Envelope] = field(default_factory=list)


class InMemoryNotifyBatch:
    """`NotifyBatch` over one batch's copy of the rows."""

    def __init__(self, rows: NotifyRows) -> None:
        self._rows = rows

    def hold_work_orders(self, work_order_ids: Collection[str]) -> None:
        """Nothing to lock: one batch at a time changes the rows in memory."""

    def facts(self, work_order_ids: Collection[str]) -> dict[str, tuple[int, WorkOrderFacts]]:
        """The folded facts and last sequence applied of those work orders notify has seen."""
        known = self._rows.work_orders
        return {i: (known[i].version, known[i].facts) for i in work_order_ids if i in known}

    def project_time_zones(
        self, projects: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The registered time zones of those (tenant, project) pairs notify has seen."""
        known = self._rows.projects
        return {key: known[key].time_zone for key in projects if key in known}

    def alerts_in_window(self, recipient: str, channel: str, window_start: datetime) -> int:
        """How many alerts to a recipient on a channel are already in that window."""
        return sum(
            1
            for d in self._rows.deliveries.values()
            if d.alert
            and d.recipient == recipient
            and d.channel == channel
            and d.window_start == window_start
        )

    def save_facts(self, work_orders: Mapping[str, FactsAt]) -> None:
        """Store those work orders' facts (by work-order id)."""
        self._rows.work_orders.update(work_orders)

    def save_project(self, tenant: str, project: str, name: str, time_zone: str) -> None:
        """Record a project's name and time zone."""
        self._rows.projects[(tenant, project)] = ProjectRow(name, time_zone)

    def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> set[str]:
        """Insert deliveries whose dedup key does not exist yet; return the keys inserted."""
        kept = self._rows.deliveries
        added = set()
        for delivery in deliveries:
            if delivery.dedup_key not in kept:
                kept[delivery.dedup_key] = delivery
                added.add(delivery.dedup_key)
        return added

    def add_events(self, envelopes: Sequence[Envelope]) -> None:
        """Queue notify events for publishing (the outbox) in this order."""
        self._rows.outbox.extend(envelopes)

    def skip_pending(self, tenant: str, recipient: str, reason: str) -> list[Delivery]:
        """Mark the deliveries to `recipient` not sent yet `skipped` (these rows are as the
        consumer planned them: nothing was sent, a deferred one published one event)."""
        skipped = []
        for key, row in list(self._rows.deliveries.items()):
            if row.tenant != tenant or row.recipient != recipient or row.status not in _PENDING:
                continue
            self._rows.deliveries[key] = replace(row, status=DeliveryStatus.SKIPPED)
            skipped.append(_as_sent_by_the_worker(row))
        return skipped


_PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED, DeliveryStatus.DIGESTED)


def _as_sent_by_the_worker(row: NewDelivery) -> Delivery:
    return Delivery(
        **{
            name: getattr(row, name)
            for name in Delivery.__dataclass_fields__
            if hasattr(row, name) and name not in ("attempts", "event_count")
        },
        attempts=0,
        event_count=1 if row.status is DeliveryStatus.DEFERRED else 0,
    )


InMemoryNotifyRecorder = InMemoryTrackingRecorder[NotifyRows, NotifyBatch, NewDeadLetter]


def in_memory_recorder(
    batch_of: Callable[[NotifyRows], NotifyBatch] = InMemoryNotifyBatch,
) -> InMemoryNotifyRecorder:
    """A `NotifyRecorder` over empty rows; `batch_of` gives a batch's view of its rows (a
    test may wrap `InMemoryNotifyBatch` to make a batch fail midway)."""
    return InMemoryTrackingRecorder(NotifyRows(), batch_of)
