"""The consumer's handler: events in, planned deliveries (and the facts behind them) out.

One batch is one transaction: the handler decides what the batch changes (the work-order
facts, every delivery it plans and their `notification.*` events) and hands that unit of
work to a `TrackingRecorder`, which commits it with the consumer's position and the
batch's dead letters before the consumer acks. A work order's facts version and a
delivery's dedup key (event id, recipient, channel) make a redelivered event plan
nothing twice. Sending is the delivery worker's job, so a slow receiver never holds the
consumer back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypedDict

from services.notify.domain.config import ALERT_TYPES, TenantConfig
from services.notify.domain.model import (
    DEFAULT_TIME_ZONE,
    Audience,
    ChannelName,
    DeliveryStatus,
    PlannedMessage,
    language_of,
)
from services.notify.domain.quiet_hours import held_by_quiet_hours
from services.notify.domain.routing import (
    Unreached,
    WorkOrderFacts,
    display_name,
    fold,
    forget_resident,
    operator_fallback,
    order_reference,
    place,
    plan,
    with_reference,
)
from services.notify.service_layer.configuration import Configuration
from services.notify.service_layer.events import common_fields, notification_envelope
from services.notify.service_layer.ports import (
    FactsAt,
    NewDeadLetter,
    NewDelivery,
    NotifyBatch,
    NotifyRecorder,
    Renderer,
)
from shared.clock import Clock
from shared.consumer import DeadLetter, Delivery, NotYet, catalogue_error
from shared.envelope import Envelope
from shared.events.notification import (
    NotificationDeferred,
    NotificationEvent,
    NotificationSkipped,
    NotificationUnreached,
)
from shared.logging import get_logger
from shared.tracking import Tracking

log = get_logger(__name__)

RESIDENT_ERASED = "resident_erased"
"""Why a message to an erased resident is skipped."""

_CONSUMED = frozenset({"workorder", "project", "resident"})
"""The aggregates whose events notify applies; others (its own events) are acked as they are."""

CONSUMED_SUBJECTS = tuple(sorted(f"events.*.*.{aggregate}.*" for aggregate in _CONSUMED))
"""The consumer's filters: notify never fetches its own `notification.*` events back."""


def _aggregate(envelope: Envelope) -> str:
    return envelope.type_name.split(".", 1)[0]


@dataclass
class _Known:
    """What one batch's events need from the database, read once and updated as they apply,
    and what they write, kept until the batch is done (or an alert needs it counted)."""

    facts: dict[str, tuple[int, WorkOrderFacts]]
    time_zones: dict[tuple[str, str], str]
    saved: dict[str, FactsAt] = field(default_factory=dict)
    planned: list[tuple[NewDelivery, NotificationEvent | None]] = field(default_factory=list)

    def time_zone(self, config: TenantConfig, tenant: str, project: str) -> str:
        """The time zone messages of that project are timed and shown in."""
        return config.time_zone_for(project, self.time_zones.get((tenant, project)))

    def flush(self, batch: NotifyBatch) -> None:
        """Write the deliveries planned so far, and the first event (`deferred`,
        `unreached`) of the new ones that have one."""
        if not self.planned:
            return
        new = batch.add_deliveries([row for row, _ in self.planned])
        batch.add_events(
            [
                notification_envelope(first, row, sequence=1, at=row.created_at)
                for row, first in self.planned
                if first is not None and row.dedup_key in new
            ]
        )
        self.planned.clear()


class _Cause(TypedDict):
    event_id: str
    event_type: str
    work_order_id: str
    correlation_id: str
    tenant: str
    project: str


def _cause(envelope: Envelope) -> _Cause:
    """The fields of a delivery that name the event causing it and where it belongs."""
    return {
        "event_id": str(envelope.id),
        "event_type": envelope.type_name,
        "work_order_id": envelope.subject,
        "correlation_id": envelope.correlationid,
        "tenant": envelope.tenant,
        "project": envelope.project,
    }


class OutOfOrder(NotYet):
    """An event arrived before an earlier event of its work order (another notify process
    holds that one): it comes back in a moment (`shared.consumer.NotYet`)."""


def message_context(
    envelope: Envelope, facts: WorkOrderFacts, config: TenantConfig, recipient_name: str
) -> dict[str, Any]:
    """What a template sees: the event's fields, the work order's facts and the recipient.

    Templates name things as people do: `wo.number` (the order's number, or a short form
    of its id), `wo.project_name`, `wo.place`, `wo.owner_name`, `wo.assignee_name`; the
    renderer adds the labels of the kind and category in the message's language.
    """
    wo = facts.to_json()
    wo.update(
        number=order_reference(facts, envelope.subject),
        project_name=facts.project_name or envelope.project,
        place=place(facts),
        urgent=facts.urgent,
        owner_name=display_name(facts.owner, config, facts.owner_name),
        assignee_name=display_name(facts.assignee, config, facts.assignee_name),
        # The technician an arrival or a hand-back names: the one assigned until then.
        technician_name=display_name(envelope.data.get("technician"), config, facts.assignee_name),
    )
    return {
        "event": _event_fields(envelope),
        "event_type": envelope.type_name,
        "occurred_at": envelope.time,
        "work_order_id": envelope.subject,
        "tenant": envelope.tenant,
        "project": envelope.project,
        "wo": wo,
        "recipient_name": recipient_name,
    }


def _event_fields(envelope: Envelope) -> dict[str, Any]:
    # Through the event's model, so optional fields a producer left out are present
    # (as their defaults) for the templates; a type notify does not know stays raw.
    try:
        return envelope.payload().model_dump(mode="json")
    except (LookupError, ValueError):
        return dict(envelope.data)


class NotifyHandler:
    """Implements `shared.consumer.EventHandler` for notify."""

    def __init__(
        self,
        recorder: NotifyRecorder,
        config: Configuration,
        renderer: Renderer,
        clock: Clock,
        on_commit: Callable[[], None] = lambda: None,
        channels: frozenset[ChannelName] = frozenset(ChannelName),
        consumer: str = "notify",
        reference_key: bytes | None = None,
    ) -> None:
        """`reference_key` (from `PRIVACY_MASTER_KEY`) derives the reference of a resident
        whose report was recorded before references; without it they keep their old key."""
        self._recorder = recorder
        self._reference_key = reference_key
        self._consumer = consumer
        self._channels = channels
        self._config = config
        self._renderer = renderer
        self._clock = clock
        self._on_commit = on_commit

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Apply a batch in one transaction (stream order within it), with the position."""
        if not deliveries:
            return
        relevant = [d.envelope for d in deliveries if _aggregate(d.envelope) in _CONSUMED]
        # A batch of nothing notify applies (its own events coming back) still moves the
        # position: the position says how far the stream was read, not what it changed.
        tracking = Tracking(self._consumer, max(d.stream_sequence for d in deliveries))
        await self._recorder.record(tracking, partial(self.apply_all, envelopes=relevant))
        if relevant:
            self._on_commit()

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Record a message the consumer gave up on, and skip its place in its work order.

        Only an event whose data the catalogue refuses is skipped: it can never apply,
        and would otherwise hold every later event of its order back until they are dead
        letters too. An event that failed for another reason keeps its place, so retrying
        it (and then the events behind it) replays the order as it was. Only the next
        place in line can be skipped; one given up on ahead of its predecessor leaves its
        later events to retry.
        """
        envelope = letter.envelope
        record = NewDeadLetter(
            key=letter.key,
            kind="event",
            error=letter.error,
            attempts=letter.num_delivered,
            at=self._clock.now(),
            tenant=envelope.tenant if envelope else None,
            project=envelope.project if envelope else None,
            subject=letter.subject,
            stream_sequence=letter.stream_sequence,
            event_id=str(envelope.id) if envelope else None,
            data=letter.data,
        )
        skipped = (
            envelope is not None
            and _aggregate(envelope) == "workorder"
            and catalogue_error(envelope) is not None
        )
        tracking = Tracking(self._consumer, letter.stream_sequence)
        work = partial(_skip, envelope=envelope if skipped else None)
        await self._recorder.record(tracking, work, [record])

    def apply(self, batch: NotifyBatch, envelope: Envelope) -> None:
        """Apply one event inside `batch`."""
        self.apply_all(batch, [envelope])

    def apply_all(self, batch: NotifyBatch, envelopes: Sequence[Envelope]) -> None:
        """Apply events inside `batch` in their order.

        The work orders' facts and the projects' time zones are read in one query each
        for the whole batch (one per event was a visible share of the consumer's time)
        and kept up to date here as the batch's own events change them.
        """
        work_orders = [e for e in envelopes if _aggregate(e) == "workorder"]
        batch.hold_work_orders(_orders_changed(envelopes))
        known = _Known(
            batch.facts({e.subject for e in work_orders}),
            batch.project_time_zones({(e.tenant, e.project) for e in work_orders}),
        )
        for envelope in envelopes:
            self._apply(batch, envelope, known)
        known.flush(batch)
        batch.save_facts(known.saved)

    def _apply(self, batch: NotifyBatch, envelope: Envelope, known: _Known) -> None:
        aggregate = _aggregate(envelope)
        if aggregate == "project":
            details = envelope.data["details"]
            time_zone = details.get("time_zone", DEFAULT_TIME_ZONE)
            batch.save_project(envelope.tenant, envelope.project, details["name"], time_zone)
            known.time_zones[(envelope.tenant, envelope.project)] = time_zone
            return
        if aggregate == "resident":
            if envelope.type_name == "resident.erased":
                self._forget(batch, envelope, known)
            return
        if aggregate != "workorder":
            return  # notify's own events, and aggregates it has no routes for
        version, facts = known.facts.get(envelope.subject, (0, WorkOrderFacts()))
        if envelope.sequence <= version:
            return  # applied before: a redelivery
        if envelope.sequence != version + 1:
            raise OutOfOrder(
                f"work order {envelope.subject} is at {version}, got sequence {envelope.sequence}"
            )
        data = envelope.data
        if envelope.type_name == "workorder.reported" and self._reference_key is not None:
            data = with_reference(data, self._reference_key, envelope.tenant, envelope.subject)
        facts = fold(facts, envelope.type_name, data)
        known.saved[envelope.subject] = FactsAt(
            envelope.tenant, envelope.project, version + 1, facts
        )
        known.facts[envelope.subject] = (version + 1, facts)
        self._plan(batch, envelope, facts, known)

    def _forget(self, batch: NotifyBatch, envelope: Envelope, known: _Known) -> None:
        """A resident was erased: their pending messages are skipped (each with its
        `notification.skipped`), and their orders' facts forget them, so nothing more is
        planned for them. Applying it again finds nothing left to change."""
        resident = str(envelope.data["resident"])
        orders = [str(w) for w in envelope.data.get("work_orders") or ()]
        stored = batch.facts([w for w in orders if w not in known.facts])
        for work_order_id in orders:
            version, facts = known.facts.get(work_order_id) or stored.get(
                work_order_id, (0, WorkOrderFacts())
            )
            if version == 0 or facts.resident_erased:
                continue  # an order notify has not seen, or forgot already
            forgotten = forget_resident(facts)
            known.facts[work_order_id] = (version, forgotten)
            # The row exists, so its tenant and project are kept; only the facts change.
            known.saved[work_order_id] = FactsAt(
                envelope.tenant, envelope.project, version, forgotten
            )
        known.flush(batch)  # this batch's own messages to them are skipped too
        now = self._clock.now()
        skipped = batch.skip_pending(envelope.tenant, f"resident:{resident}", RESIDENT_ERASED)
        batch.add_events(
            [
                notification_envelope(
                    NotificationSkipped(**common_fields(row, row.attempts), reason=RESIDENT_ERASED),
                    row,
                    sequence=row.event_count + 1,
                    at=now,
                )
                for row in skipped
            ]
        )
        log.info("notify.resident_erased", resident=resident, skipped=len(skipped))

    def _plan(
        self, batch: NotifyBatch, envelope: Envelope, facts: WorkOrderFacts, known: _Known
    ) -> None:
        config = self._config.tenant(envelope.tenant)
        messages, unreached = plan(
            envelope.type_name, envelope.data, facts, config, envelope.project
        )
        # E.g. SMS without a provider configured: planning it would only end dead. A
        # recipient is unreached when none of their channels is configured.
        kept = [m for m in messages if m.channel in self._channels]
        reached = {m.recipient.key for m in kept}
        for message in messages:
            if message.channel not in self._channels:
                log.warning(
                    "notify.channel_not_configured",
                    event_type=envelope.type_name,
                    work_order_id=envelope.subject,
                    target=message.recipient.key,
                    channel=str(message.channel),
                )
                if message.recipient.key not in reached:
                    reason = f"channel {message.channel} not configured"
                    unreached.append(Unreached(message.recipient.key, reason, message.template))
                    reached.add(message.recipient.key)
        alert = envelope.type_name in ALERT_TYPES
        # One delivery per (event, recipient, channel): an operator a route reached already
        # on a channel gets nothing more there.
        taken = {(m.recipient.key, m.channel) for m in kept}
        fallback = [
            m
            for m in operator_fallback(unreached, config, facts.urgent, alert)
            if m.channel in self._channels and (m.recipient.key, m.channel) not in taken
        ]
        messages = kept + fallback
        time_zone = known.time_zone(config, envelope.tenant, envelope.project)
        now = self._clock.now()
        self._record_unreached(envelope, unreached, config, facts, now, known)
        for message in messages:
            rendered = self._renderer.render(
                envelope.tenant,
                message.template,
                message.recipient.language,
                time_zone,
                message_context(envelope, facts, config, message.recipient.name),
            )
            status, due_at, window = self._timing(
                batch, message, config, envelope.project, time_zone, now, known
            )
            row = NewDelivery(
                id=str(uuid.uuid4()),
                dedup_key=message.dedup_key(str(envelope.id)),
                **_cause(envelope),
                recipient=message.recipient.key,
                recipient_name=message.recipient.name,
                audience=str(message.recipient.audience),
                channel=message.channel,
                address=message.address,
                template=message.template,
                language=message.recipient.language,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                urgent=message.urgent,
                alert=message.alert,
                status=status,
                created_at=now,
                due_at=due_at,
                window_start=window,
            )
            deferred = None
            if status is DeliveryStatus.DEFERRED:
                assert due_at is not None
                deferred = NotificationDeferred(
                    **common_fields(row, 0), deferred_until=due_at, reason="quiet_hours"
                )
            known.planned.append((row, deferred))

    def _record_unreached(
        self,
        envelope: Envelope,
        unreached: list[Unreached],
        config: TenantConfig,
        facts: WorkOrderFacts,
        now: datetime,
        known: _Known,
    ) -> None:
        """One `unreached` delivery (and its `notification.unreached`) per target that
        reached nobody: on record in `GET /v1/deliveries`, counted by reporting."""
        fallback = config.operator if operator_fallback(unreached, config, False, False) else None
        for miss in {miss.target: miss for miss in unreached}.values():
            log.warning(
                "notify.unreached",
                event_type=envelope.type_name,
                work_order_id=envelope.subject,
                target=miss.target,
                reason=miss.reason,
                fallback=fallback,
            )
            resident = miss.target.startswith("resident")
            row = NewDelivery(
                id=str(uuid.uuid4()),
                dedup_key=f"{envelope.id}|{miss.target}|{ChannelName.NONE}",
                **_cause(envelope),
                recipient=miss.target,
                recipient_name=miss.target,
                audience=str(Audience.RESIDENT if resident else Audience.STAFF),
                channel=ChannelName.NONE,
                address="",
                template=miss.template or "-",
                language=language_of(config.resident_language),
                subject=f"unreached: {miss.target}",
                body_text=miss.reason,
                body_html="",
                urgent=facts.urgent,
                alert=False,  # never counted towards a digest: nothing is sent
                status=DeliveryStatus.UNREACHED,
                created_at=now,
                due_at=None,
            )
            event = NotificationUnreached(
                **common_fields(row, 0), reason=miss.reason[:500], fallback=fallback
            )
            known.planned.append((row, event))

    def _timing(
        self,
        batch: NotifyBatch,
        message: PlannedMessage,
        config: TenantConfig,
        project: str,
        time_zone: str,
        now: datetime,
        known: _Known,
    ) -> tuple[DeliveryStatus, datetime | None, datetime | None]:
        if message.alert:
            policy = config.digest
            window = policy.window_start(now)
            # The count must include the alerts this batch planned before this one.
            known.flush(batch)
            count = batch.alerts_in_window(message.recipient.key, message.channel, window)
            if policy.digests(count):
                return DeliveryStatus.DIGESTED, policy.window_end(now), window
            return DeliveryStatus.QUEUED, now, window
        if held_by_quiet_hours(str(message.recipient.audience), message.urgent):
            allowed = config.quiet_hours_for(project).next_allowed(now, time_zone)
            if allowed > now:
                return DeliveryStatus.DEFERRED, allowed, None
        return DeliveryStatus.QUEUED, now, None


def _skip(batch: NotifyBatch, envelope: Envelope | None) -> None:
    """Skip `envelope`'s place in its work order if it is the next in line."""
    if envelope is None:
        return
    batch.hold_work_orders({envelope.subject})
    found = batch.facts({envelope.subject})
    version, facts = found.get(envelope.subject, (0, WorkOrderFacts()))
    if envelope.sequence == version + 1:
        batch.save_facts(
            {envelope.subject: FactsAt(envelope.tenant, envelope.project, version + 1, facts)}
        )


def _orders_changed(envelopes: Sequence[Envelope]) -> set[str]:
    """The work orders whose facts or deliveries applying `envelopes` may change: those
    the events are about, and the orders of residents they erase."""
    orders: set[str] = set()
    for envelope in envelopes:
        aggregate = _aggregate(envelope)
        if aggregate == "workorder":
            orders.add(envelope.subject)
        elif envelope.type_name == "resident.erased":
            orders.update(str(w) for w in envelope.data.get("work_orders") or ())
    return orders
