"""What the service layer needs of storage and of channels (adapters implement these)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from services.notify.domain.digest import DigestItem
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.domain.routing import WorkOrderFacts
from shared.envelope import Envelope
from shared.tracking import TrackingRecorder

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class DeliveryFields:
    """What every delivery row says: its cause, recipient, channel and message."""

    id: str
    event_id: str | None
    event_type: str
    work_order_id: str | None
    correlation_id: str
    tenant: str
    project: str
    recipient: str
    recipient_name: str
    channel: ChannelName
    address: str
    template: str
    language: str
    subject: str
    body_text: str
    body_html: str
    status: DeliveryStatus


@dataclass(frozen=True, slots=True)
class NewDelivery(DeliveryFields):
    """A delivery row as the consumer (or the digest builder) plans it."""

    dedup_key: str
    audience: str
    urgent: bool
    alert: bool
    created_at: datetime
    due_at: datetime | None
    window_start: datetime | None = None
    item_count: int = 0


@dataclass(frozen=True, slots=True)
class Delivery(DeliveryFields):
    """A delivery row as the worker reads it."""

    attempts: int
    created_at: datetime
    event_count: int
    item_count: int
    audience: str
    urgent: bool
    lease_token: str | None = None
    """The claim holding the row while it is sent (set by `SendLog.claim_due`)."""


@dataclass(frozen=True, slots=True)
class NewDeadLetter:
    """A dead letter to record: an event the consumer gave up on, or a dead delivery
    (a `shared.tracking.DeadLetterEntry`).

    `key` identifies it (`event:<id>`, `body:<digest>`, `delivery:<id>`): recording a
    key again (a redelivery, a delivery that dies again after a retry) updates that
    dead letter instead of adding another.
    """

    key: str
    kind: str
    error: str
    attempts: int
    at: datetime
    tenant: str | None = None
    project: str | None = None
    subject: str | None = None
    stream_sequence: int | None = None
    event_id: str | None = None
    delivery_id: str | None = None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class FactsAt:
    """A work order's folded facts at the last sequence applied, to store."""

    tenant: str
    project: str
    version: int
    facts: WorkOrderFacts


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one send (or a hold by quiet hours) changes of its delivery row."""

    delivery_id: str
    status: DeliveryStatus
    attempts: int
    event_count: int
    error: str | None
    """None keeps the row's previous error: the record shows why earlier attempts failed."""
    due_at: datetime | None
    sent_at: datetime | None
    reason: str | None = None
    """Why a delivery was skipped (`status_reason`)."""
    lease_token: str | None = None
    """The claim the send ran under: the outcome is kept only while that claim still
    holds the row (its lease did not run out and no other claim took it)."""


@dataclass(frozen=True, slots=True)
class DigestGroup:
    """Alerts of one recipient and channel waiting for their window's digest."""

    tenant: str
    project: str
    recipient: str
    recipient_name: str
    channel: ChannelName
    address: str
    language: str
    correlation_id: str
    window_start: datetime
    items: tuple[DigestItem, ...]


class NotifyBatch(Protocol):
    """notify's rows of one batch, inside the transaction of a `TrackingRecorder`.

    The handler reads what its events need (facts, time zones, alerts already in a
    window) and writes what it decided; the writes take many rows at once: on SQLite
    every statement is a hop to the database thread and back through the event loop,
    and under load each hop waits its turn behind the sends in flight, so a batch
    written row by row held the write lock (and everyone behind it) for as long as the
    hops took.
    """

    def hold_work_orders(self, work_order_ids: Collection[str]) -> None:
        """Keep other transactions off those work orders until this one ends: two notify
        processes handed the same event (a redelivery) apply it one after the other, the
        second seeing the first's facts, instead of both reading the same version."""
        ...

    def facts(self, work_order_ids: Collection[str]) -> dict[str, tuple[int, WorkOrderFacts]]:
        """The folded facts and last sequence applied of those work orders notify has seen."""
        ...

    def project_time_zones(
        self, projects: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The registered time zones of those (tenant, project) pairs notify has seen."""
        ...

    def alerts_in_window(self, recipient: str, channel: str, window_start: datetime) -> int:
        """How many alerts to a recipient on a channel are already in that window."""
        ...

    def save_facts(self, work_orders: Mapping[str, FactsAt]) -> None:
        """Store those work orders' facts (by work-order id)."""
        ...

    def save_project(self, tenant: str, project: str, name: str, time_zone: str) -> None:
        """Record a project's name and time zone."""
        ...

    def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> set[str]:
        """Insert deliveries whose dedup key does not exist yet; return the keys inserted."""
        ...

    def add_events(self, envelopes: Sequence[Envelope]) -> None:
        """Queue notify events for publishing (the outbox) in this order."""
        ...

    def skip_pending(self, tenant: str, recipient: str, reason: str) -> list[Delivery]:
        """Mark every delivery to `recipient` not sent yet (queued, deferred, failed,
        digested) `skipped` for `reason`, counting the event that says so; the rows as
        they were before."""
        ...


NotifyRecorder = TrackingRecorder[NotifyBatch, NewDeadLetter]
"""The consumer's unit of work: a batch's facts, deliveries and events, the consumer's
position and its dead letters in one transaction."""


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A stored dead letter."""

    id: int
    kind: str
    tenant: str | None
    project: str | None
    delivery_id: str | None
    data: bytes | None
    error: str
    retried_at: datetime | None


class RetryBatch(NotifyBatch, Protocol):
    """A batch that retries a dead letter: an event applied again, or a delivery requeued."""

    def requeue_delivery(self, delivery_id: str, at: datetime) -> None:
        """Send a dead delivery again from its first attempt."""
        ...

    def mark_retried(self, dead_letter_id: int, at: datetime) -> None:
        """Record that a dead letter was retried."""
        ...


class DeadLetterRetries(Protocol):
    """Retries a dead letter in one transaction, the letter locked against a second retry."""

    async def retry(
        self, dead_letter_id: int, work: Callable[[DeadLetterRecord | None, RetryBatch], R]
    ) -> R:
        """Run `work` on the dead letter (None if there is none) and the batch retrying it;
        nothing of `work` is kept if it raises."""
        ...


class ProjectZones(Protocol):
    """The projects' time zones notify has seen registered."""

    async def project_time_zone(self, tenant: str, project: str) -> str | None:
        """The time zone registered for a project, if notify has seen it."""
        ...


class SendLog(Protocol):
    """The delivery worker's rows: what is due, and what each send came to."""

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[Delivery]:
        """Deliveries due by `now`, leased to this claim for `lease_seconds` under a token
        of its own (`Delivery.lease_token`); no other claim gets them until it runs out."""
        ...

    async def due_digests(self, now: datetime, limit: int) -> list[DigestGroup]:
        """Digest groups whose window has closed."""
        ...

    async def add_digest(self, digest: NewDelivery, item_ids: Sequence[str]) -> bool:
        """Queue a digest carrying those alerts, unless its dedup key exists (another
        worker assembled it); returns whether it was added."""
        ...

    async def digest_items(self, digest_ids: Collection[str]) -> dict[str, list[str]]:
        """The alerts each of those digests carries, oldest first."""
        ...

    async def record_outcomes(
        self,
        outcomes: Sequence[Outcome],
        events: Sequence[Envelope],
        dead: Sequence[NewDeadLetter] = (),
        settled: Mapping[str, DeliveryStatus] | None = None,
    ) -> set[str]:
        """In one transaction: store the outcomes of sends, queue their events, keep the
        dead deliveries' dead letters and give the items of each `settled` digest its
        final status.

        Only outcomes whose claim still holds its row are kept, with what goes with them
        (events about that delivery, its dead letter, its digest's items); returns the
        ids of the deliveries whose claim had lost the row, of which nothing was kept."""
        ...


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What a channel sends."""

    delivery_id: str
    tenant: str
    project: str
    recipient: str
    recipient_name: str
    address: str
    """Where the channel sends: for an SMS to a resident, their phone in clear, had from
    dispatch for this send only."""
    secret: str | None
    subject: str
    text: str
    html: str
    event_type: str
    work_order_id: str | None
    created_at: datetime
    recorded_address: str = ""
    """The address as the delivery row records it (a resident's phone masked): what a
    record of the message (the development outbox) may keep."""


class DeliveryFailed(Exception):
    """A send did not go through; the message says why (kept as the delivery's last error)."""


class ResidentGone(Exception):
    """The resident was erased: nothing may be sent to them."""


class ResidentContacts(Protocol):
    """Where a resident's phone is had at send time (dispatch's contact API)."""

    async def phone(self, tenant: str, resident: str, work_order_id: str) -> str | None:
        """The resident's phone in clear (None: they gave none), for one send only.

        Raises `ResidentGone` when they were erased, `DeliveryFailed` when it cannot be
        had now (the delivery is tried again by its channel's policy)."""
        ...


class Channel(Protocol):
    """One way of reaching people (an adapter with its own retry policy in the config)."""

    async def send(self, message: OutboundMessage) -> None:
        """Send, or raise `DeliveryFailed`."""
        ...


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready for any channel."""

    subject: str
    text: str
    html: str


class Renderer(Protocol):
    """Renders a template in a language for a tenant."""

    def render(
        self,
        tenant: str,
        template: str,
        language: str,
        time_zone: str,
        context: dict[str, Any],
    ) -> Rendered:
        """Render `template`; raises `shared.errors.NotFound` if it exists nowhere."""
        ...
