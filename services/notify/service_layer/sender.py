"""The delivery worker: sends what is due, retries per channel policy, builds digests.

Each send's outcome is committed with its `notification.*` event in one transaction.
Rows are leased while being sent, so a crash mid-send means the lease runs out and the
message goes again: receivers can drop the repeat by the delivery id (`webhook-id`).

Several notify processes send from one database without sending a message twice: a
claim leases its rows under a token of its own; a send starts only while at least two
send timeouts remain of its lease, and is cut off at one, so it has ended (and a round
has had a send timeout to record it) before the lease runs out and another claim may
take the row; an outcome is stored only while its claim still holds the row.
"""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client import Counter

from services.notify.domain.config import URL_CHANNELS, Endpoint
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.domain.quiet_hours import held_by_quiet_hours
from services.notify.service_layer.configuration import Configuration
from services.notify.service_layer.events import common_fields, notification_envelope
from services.notify.service_layer.handler import RESIDENT_ERASED
from services.notify.service_layer.ports import (
    Channel,
    Delivery,
    DeliveryFailed,
    DigestGroup,
    NewDeadLetter,
    NewDelivery,
    OutboundMessage,
    Outcome,
    ProjectZones,
    Renderer,
    ResidentContacts,
    ResidentGone,
    SendLog,
)
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.base import EventData
from shared.events.notification import (
    NotificationDead,
    NotificationDeferred,
    NotificationFailed,
    NotificationSent,
    NotificationSkipped,
)
from shared.logging import get_logger
from shared.privacy.pseudonym import is_resident_reference
from shared.redact import redact_text, url_secrets

log = get_logger(__name__)

DELIVERIES = Counter(
    "notify_deliveries_total",
    "Send attempts of notify by channel and outcome (sent, failed, dead)",
    ["channel", "outcome"],
)

LEASES_LOST = Counter(
    "notify_leases_lost_total",
    "Sends whose outcome came after their lease ran out and another claim took the row "
    "(their outcome is not stored), or not started because too little of the lease was left",
    ["stage"],
)

_ERROR_LIMIT = 2000


def _quiet_hours_apply(delivery: Delivery) -> bool:
    return held_by_quiet_hours(delivery.audience, delivery.urgent)


@dataclass(frozen=True, slots=True)
class Skip:
    """A send that must not happen, and why (the delivery ends `skipped`)."""

    reason: str


NO_RESIDENT_REFERENCE = "no_resident_reference"
NO_PHONE = "no_phone"


@dataclass(frozen=True, slots=True)
class NotStarted:
    """A send never started: too little of its lease was left to finish it in time, or
    the sender was closing.

    Nothing is recorded; the row is claimed again once its lease runs out."""


Attempt = str | Skip | None
"""What one send came to: an error, a skip, or None (sent)."""


class NoContacts:
    """`ResidentContacts` where dispatch is not configured: every phone lookup fails."""

    async def phone(self, tenant: str, resident: str, work_order_id: str) -> str | None:
        """Refuse: DISPATCH_URL is not set."""
        raise DeliveryFailed("DISPATCH_URL is not set: a resident's phone cannot be had")


class DeliverySender:
    """Sends due deliveries through the channels."""

    def __init__(
        self,
        sends: SendLog,
        projects: ProjectZones,
        config: Configuration,
        channels: Mapping[ChannelName, Channel],
        renderer: Renderer,
        clock: Clock,
        *,
        contacts: ResidentContacts | None = None,
        batch_size: int = 200,
        concurrency: int = 50,
        lease_seconds: float = 60.0,
        send_timeout_seconds: float = 15.0,
        round_seconds: float = 0.2,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._sends = sends
        self._projects = projects
        self._config = config
        self._channels = channels
        self._renderer = renderer
        self._clock = clock
        self._contacts = contacts or NoContacts()
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        if lease_seconds <= 2 * send_timeout_seconds:
            raise ValueError(
                f"the lease ({lease_seconds} s) must exceed twice the send timeout "
                f"({send_timeout_seconds} s)"
            )
        self._lease_seconds = lease_seconds
        self._send_timeout = send_timeout_seconds
        self._round_seconds = round_seconds
        self._on_commit = on_commit
        self._in_flight: set[asyncio.Task[tuple[Delivery, Attempt | NotStarted]]] = set()
        self._closing = False

    async def run_once(self) -> int:
        """Build the digests whose window closed, start sending what is due, record what finished.

        Sends run as tasks: those that finish within `round_seconds` are recorded together
        in one transaction (a commit per send was the bottleneck), and a slow receiver's
        send carries over to a later round instead of holding back everyone else's.
        Returns how many deliveries were claimed.
        """
        now = self._clock.now()
        for group in await self._sends.due_digests(now, self._batch_size):
            await self._queue_digest(group, now)
        room = self._batch_size - len(self._in_flight)
        due = await self._sends.claim_due(now, room, self._lease_seconds) if room > 0 else []
        if any(_quiet_hours_apply(d) for d in due):
            due = await self._hold_in_quiet_hours(due, now)
        lease_end = now + timedelta(seconds=self._lease_seconds)
        for delivery in due:
            self._in_flight.add(asyncio.create_task(self._limited(delivery, lease_end)))
        if not self._in_flight:
            return 0
        done, _ = await asyncio.wait(self._in_flight, timeout=self._round_seconds)
        self._in_flight -= done
        finished = [_finished(task.result()) for task in done]
        if any(finished):
            await self.record([result for result in finished if result is not None])
        return len(due)

    async def record(self, results: Sequence[tuple[Delivery, Attempt]]) -> None:
        """Record the outcomes of finished sends (delivery, error, skip or None), with their
        `notification.*` events, in one transaction of a few statements."""
        # A digest's items are attached when it is queued: read before, settled with it.
        items = await self._sends.digest_items(
            [delivery.id for delivery, _ in results if delivery.item_count]
        )
        round_ = _Round(items)
        outcomes = [self._record(round_, delivery, error) for delivery, error in results]
        lost = await self._sends.record_outcomes(
            outcomes, round_.events, round_.dead, round_.settled
        )
        _count_lost(lost, "recorded")
        self._on_commit()

    async def _hold_in_quiet_hours(self, due: list[Delivery], now: datetime) -> list[Delivery]:
        """Defer what may not go to a resident now; return the rest.

        The consumer times a message when it plans it, but a retry after a failure, a
        send whose lease ran out or a dead delivery queued again can fall due inside
        quiet hours: such a message waits again for the next allowed moment.
        """
        sendable: list[Delivery] = []
        held: list[Outcome] = []
        events: list[Envelope] = []
        for delivery in due:
            allowed = (
                await self._next_allowed(delivery, now) if _quiet_hours_apply(delivery) else now
            )
            if allowed <= now:
                sendable.append(delivery)
                continue
            sequence = delivery.event_count + 1
            held.append(
                Outcome(
                    delivery.id,
                    DeliveryStatus.DEFERRED,
                    attempts=delivery.attempts,
                    event_count=sequence,
                    error=None,
                    due_at=allowed,
                    sent_at=None,
                    lease_token=delivery.lease_token,
                )
            )
            event = NotificationDeferred(
                **common_fields(delivery, delivery.attempts),
                deferred_until=allowed,
                reason="quiet_hours",
            )
            events.append(notification_envelope(event, delivery, sequence=sequence, at=now))
        _count_lost(await self._sends.record_outcomes(held, events), "held")
        if len(sendable) < len(due):
            self._on_commit()
        return sendable

    async def _time_zone(self, tenant: str, project: str) -> str:
        registered = await self._projects.project_time_zone(tenant, project)
        return self._config.tenant(tenant).time_zone_for(project, registered)

    async def _next_allowed(self, delivery: Delivery, now: datetime) -> datetime:
        time_zone = await self._time_zone(delivery.tenant, delivery.project)
        config = self._config.tenant(delivery.tenant)
        return config.quiet_hours_for(delivery.project).next_allowed(now, time_zone)

    @property
    def busy(self) -> bool:
        """Whether sends are in flight (their outcomes are recorded by a later round)."""
        return bool(self._in_flight)

    async def close(self) -> None:
        """Let the sends in flight finish and record them, starting no other.

        A send cancelled mid-way may have reached its receiver all the same, and its row
        would go again once its lease ran out: a stop (a deploy, another process taking
        over the load) is not to send anything twice. Each send is cut off at the send
        timeout, so this waits that long at most; what cannot be recorded (the database
        is gone) is sent again once its lease runs out.
        """
        self._closing = True
        if not self._in_flight:
            return
        done, pending = await asyncio.wait(self._in_flight, timeout=self._send_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._in_flight.clear()
        finished = [result for task in done if (result := _finished(task.result())) is not None]
        if not finished:
            return
        try:
            await self.record(finished)
        except Exception as exc:
            log.error(
                "notify.outcomes_not_recorded_at_stop",
                deliveries=[delivery.id for delivery, _ in finished],
                error=repr(exc),
            )

    async def _limited(
        self, delivery: Delivery, lease_end: datetime
    ) -> tuple[Delivery, Attempt | NotStarted]:
        async with self._limit:
            if self._closing:
                return delivery, NotStarted()
            # Waiting for a turn used some of the lease: a send that could still be going
            # when it runs out (and another claim sends the same message) never starts.
            left = (lease_end - self._clock.now()).total_seconds()
            if left < 2 * self._send_timeout:
                LEASES_LOST.labels("not_started").inc()
                log.warning("notify.send_not_started", delivery_id=delivery.id, lease_left_s=left)
                return delivery, NotStarted()
            try:
                async with asyncio.timeout(self._send_timeout):
                    return delivery, await self._attempt(delivery)
            except TimeoutError:
                return delivery, f"no answer within the send timeout ({self._send_timeout} s)"

    def _record(self, round_: _Round, delivery: Delivery, error: Attempt) -> Outcome:
        """A send's outcome; its event, a digest's settlement and a dead letter go on
        `round_`, to be stored with the round's others."""
        now = self._clock.now()
        if isinstance(error, Skip):
            return self._skipped(round_, delivery, error, now)
        attempts = delivery.attempts + 1
        base = common_fields(delivery, attempts)
        retry_at = None
        if error is None:
            status: DeliveryStatus = DeliveryStatus.SENT
        else:
            retry_at = self._config.retry_policy(delivery.channel).next_attempt(attempts, now)
            status = DeliveryStatus.FAILED if retry_at is not None else DeliveryStatus.DEAD
        items: list[str] = []
        if delivery.item_count and status is not DeliveryStatus.FAILED:
            # A digest's items share its fate: sent with it, or dead with it.
            items = round_.items.get(delivery.id, [])
            round_.settled[delivery.id] = status
        event: EventData
        if error is None:
            event = NotificationSent(**base, sent_at=now, digest_items=tuple(items))
        elif retry_at is not None:
            event = NotificationFailed(**base, error=error, next_attempt_at=retry_at)
        else:
            event = NotificationDead(**base, error=error)
            round_.dead.append(
                NewDeadLetter(
                    key=f"delivery:{delivery.id}",
                    kind="delivery",
                    error=error,
                    attempts=attempts,
                    at=now,
                    tenant=delivery.tenant,
                    project=delivery.project,
                    event_id=delivery.event_id,
                    delivery_id=delivery.id,
                )
            )
        sequence = delivery.event_count + 1
        outcome = Outcome(
            delivery.id,
            status,
            attempts=attempts,
            event_count=sequence,
            error=error,
            due_at=retry_at,
            sent_at=now if error is None else None,
            lease_token=delivery.lease_token,
        )
        DELIVERIES.labels(delivery.channel, str(status)).inc()
        if status is DeliveryStatus.DEAD:
            log.error(
                "notify.delivery_dead",
                delivery_id=delivery.id,
                channel=str(delivery.channel),
                error=error,
            )
        round_.events.append(notification_envelope(event, delivery, sequence=sequence, at=now))
        return outcome

    def _skipped(self, round_: _Round, delivery: Delivery, skip: Skip, now: datetime) -> Outcome:
        """A delivery that must never be sent: it ends `skipped`, with its reason."""
        sequence = delivery.event_count + 1
        event = NotificationSkipped(
            **common_fields(delivery, delivery.attempts), reason=skip.reason
        )
        round_.events.append(notification_envelope(event, delivery, sequence=sequence, at=now))
        DELIVERIES.labels(delivery.channel, str(DeliveryStatus.SKIPPED)).inc()
        log.info(
            "notify.delivery_skipped",
            delivery_id=delivery.id,
            recipient=delivery.recipient,
            reason=skip.reason,
        )
        return Outcome(
            delivery.id,
            DeliveryStatus.SKIPPED,
            attempts=delivery.attempts,
            event_count=sequence,
            error=None,
            due_at=None,
            sent_at=None,
            reason=skip.reason,
            lease_token=delivery.lease_token,
        )

    async def _resident_phone(self, delivery: Delivery) -> str | Skip:
        """The phone an SMS to a resident goes to, in clear, from dispatch: for this send
        only, never stored or logged. Raises `DeliveryFailed` when dispatch cannot answer."""
        resident = delivery.recipient.removeprefix("resident:")
        if not is_resident_reference(resident) or delivery.work_order_id is None:
            # Recorded before references: the row holds a mask and nothing to ask with.
            return Skip(NO_RESIDENT_REFERENCE)
        try:
            phone = await self._contacts.phone(delivery.tenant, resident, delivery.work_order_id)
        except ResidentGone:
            return Skip(RESIDENT_ERASED)
        return phone if phone else Skip(NO_PHONE)

    async def _attempt(self, delivery: Delivery) -> Attempt:
        channel = self._channels.get(delivery.channel)
        if channel is None:
            return f"channel {delivery.channel} is not configured in this notify"
        address, secret = delivery.address, None
        hidden: list[str] = []  # clear values no error or log may quote
        if delivery.channel is ChannelName.SMS and delivery.recipient.startswith("resident:"):
            try:
                found = await self._resident_phone(delivery)
            except DeliveryFailed as exc:
                return (str(exc) or type(exc).__name__)[:_ERROR_LIMIT]
            if isinstance(found, Skip):
                return found
            address = found
            hidden.append(found)
        endpoint = self._endpoint(delivery.tenant, delivery.recipient, delivery.channel)
        if delivery.channel in URL_CHANNELS:
            # The row names the contact; its URL (and the credential in it) lives only
            # in the configuration and in this message, never in the row or an error.
            if endpoint is None:
                return f"contact {delivery.address} has no {delivery.channel} endpoint configured"
            address, secret = endpoint.url, endpoint.secret
        message = OutboundMessage(
            delivery_id=delivery.id,
            tenant=delivery.tenant,
            project=delivery.project,
            recipient=delivery.recipient,
            recipient_name=delivery.recipient_name,
            address=address,
            secret=secret,
            subject=delivery.subject,
            text=delivery.body_text,
            html=delivery.body_html,
            event_type=delivery.event_type,
            work_order_id=delivery.work_order_id,
            created_at=delivery.created_at,
            recorded_address=delivery.address,
        )
        secrets = [secret, *hidden, *(url_secrets(endpoint.url) if endpoint is not None else [])]
        try:
            await channel.send(message)
        except DeliveryFailed as exc:
            return redact_text(str(exc) or type(exc).__name__, secrets)[:_ERROR_LIMIT]
        except Exception as exc:
            # A bug or an unexpected library error still counts as a failed attempt:
            # the policy decides whether to retry, and the error is kept on the row.
            # Its traceback is logged as text, redacted: exception texts quote URLs.
            trace = "".join(traceback.format_exception(exc))
            log.error(
                "notify.channel_error",
                channel=str(delivery.channel),
                error=redact_text(trace, secrets),
            )
            return redact_text(f"{type(exc).__name__}: {exc}", secrets)[:_ERROR_LIMIT]
        return None

    def _endpoint(self, tenant: str, recipient: str, channel: ChannelName) -> Endpoint | None:
        kind, _, person_id = recipient.partition(":")
        if kind != "person":
            return None
        contact = self._config.tenant(tenant).contacts.get(person_id)
        return contact.endpoint(channel) if contact is not None else None

    async def _queue_digest(self, group: DigestGroup, now: datetime) -> None:
        config = self._config.tenant(group.tenant)
        policy = config.digest
        time_zone = await self._time_zone(group.tenant, group.project)
        rendered = self._renderer.render(
            group.tenant,
            "digest",
            group.language,
            time_zone,
            {
                "recipient_name": group.recipient_name,
                "items": [{"subject": i.subject, "text": i.text} for i in group.items],
                "window_start": group.window_start,
                "window_end": policy.window_end(group.window_start),
            },
        )
        first = group.items[0].delivery_id
        digest = NewDelivery(
            id=_digest_id(first),
            dedup_key=f"digest|{group.recipient}|{group.channel}|{first}",
            event_id=None,
            event_type="digest",
            work_order_id=None,
            correlation_id=group.correlation_id,
            tenant=group.tenant,
            project=group.project,
            recipient=group.recipient,
            recipient_name=group.recipient_name,
            audience="staff",
            channel=group.channel,
            address=group.address,
            template="digest",
            language=group.language,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            urgent=False,
            alert=False,
            status=DeliveryStatus.QUEUED,
            created_at=now,
            due_at=now,
            window_start=group.window_start,
            item_count=len(group.items),
        )
        await self._sends.add_digest(digest, [i.delivery_id for i in group.items])


def _finished(result: tuple[Delivery, Attempt | NotStarted]) -> tuple[Delivery, Attempt] | None:
    """A send's result to record; None for one that never started."""
    delivery, attempt = result
    return None if isinstance(attempt, NotStarted) else (delivery, attempt)


def _count_lost(lost: set[str], stage: str) -> None:
    """Log and count the outcomes not stored because their claim had lost the row."""
    if lost:
        LEASES_LOST.labels(stage).inc(len(lost))
        log.warning("notify.lease_lost", stage=stage, deliveries=sorted(lost))


@dataclass
class _Round:
    """What a round of sends writes besides the outcomes, gathered as they are decided."""

    items: Mapping[str, list[str]]
    """The alerts each digest of the round carries."""
    events: list[Envelope] = field(default_factory=list)
    dead: list[NewDeadLetter] = field(default_factory=list)
    settled: dict[str, DeliveryStatus] = field(default_factory=dict)


def _digest_id(first_item: str) -> str:
    # Derived from its first item, so two workers assembling one digest collide on the key.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"digest:{first_item}"))
