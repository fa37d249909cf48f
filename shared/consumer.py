"""The one durable JetStream pull consumer that notify, reporting and integrators' examples share.

What it guarantees, whatever the handler does:

- Nothing is acked before the handler has committed its effect: a batch is acked only
  after `handle` returned, so a crash in between means a redelivery, never a loss.
- A batch that fails is retried one message at a time, so one bad event does not hold
  back the others; a message that keeps failing is naked with growing delays and, after
  `max_deliver` attempts, recorded by the handler as a dead letter and terminated.
- A body that is not a valid envelope, or an envelope whose data fails the catalogue's
  validation, is dead-lettered at once: retrying cannot help. Only what the handler
  raises (the database, the bus: infrastructure) is retried.
- A message the handler cannot apply yet (`NotYet`: an earlier event of its work order is
  still with another consumer process) comes back in `wait_seconds`, without counting
  as a failed attempt, for up to `max_waits` deliveries.
- A dead letter is keyed by its event id (by a digest of the body when it has none),
  never by the stream sequence: sequences start again when a stream is lost.
- The server's own delivery limit is off (`max_deliver=-1`): a message whose last
  attempt died with the process would otherwise be dropped by the server without a
  dead letter. The limit is counted here, from the delivery count the server reports.

Handlers are idempotent by event id (messages are delivered at least once), and they
keep each work order's events in `sequence` order themselves: a redelivery, a retried
message or a second consumer process can hand them events out of stream order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter
from pydantic import ValidationError

from shared.envelope import Envelope
from shared.events.catalogue import EVENT_TYPES, parse, upcast
from shared.logging import get_logger
from shared.redact import validation_summary
from shared.subjects import EVENTS_STREAM, EVENTS_SUBJECTS

log = get_logger(__name__)

CONSUMED = Counter(
    "consumer_messages_total",
    "Messages a durable consumer finished with, by outcome (handled, retried, waiting, dead_lettered)",
    ["durable", "outcome"],
)

# A fetch, ack or nak can fail while NATS reconnects; the loop waits and goes on.
_RECONNECT_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class ConsumerSpec:
    """How a durable consumer is set up on the server and paced by the client."""

    durable: str
    filter_subject: str = EVENTS_SUBJECTS
    filter_subjects: tuple[str, ...] = ()
    """Several filters (nats-server >= 2.10); when given, they replace `filter_subject`."""
    stream: str = EVENTS_STREAM
    max_deliver: int = 5
    backoff_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    ack_wait_seconds: float = 30.0
    batch_size: int = 100
    fetch_timeout_seconds: float = 1.0
    wait_seconds: float = 0.5
    """How soon a message the handler cannot apply yet (`NotYet`) comes back."""
    max_waits: int = 600
    """Deliveries a message may wait for an earlier one (600 x 0.5 s: five minutes);
    then it is a dead letter like any other failure."""

    def retry_delay(self, num_delivered: int) -> float:
        """The nak delay after the `num_delivered`-th failed attempt (the last step repeats)."""
        if not self.backoff_seconds:
            return 0.0
        return self.backoff_seconds[min(num_delivered, len(self.backoff_seconds)) - 1]


@dataclass(frozen=True)
class Delivery:
    """One message handed to the handler: its envelope and where it sits in the stream."""

    envelope: Envelope
    subject: str
    stream_sequence: int
    num_delivered: int


@dataclass(frozen=True)
class DeadLetter:
    """A message given up on: the raw body and the last error, for the dead-letter table."""

    subject: str
    stream_sequence: int
    data: bytes
    error: str
    num_delivered: int
    envelope: Envelope | None
    """None when the body is not a valid envelope."""

    @property
    def key(self) -> str:
        """What identifies this dead letter across redeliveries and stream losses."""
        return dead_letter_key(self.envelope, self.data)


def dead_letter_key(envelope: Envelope | None, data: bytes) -> str:
    """`event:<id>`, or `body:<sha-256 of the body>` for a body that is no envelope:
    never the stream sequence, which starts again when a stream is lost."""
    if envelope is not None:
        return f"event:{envelope.id}"
    return f"body:{hashlib.sha256(data).hexdigest()}"


def catalogue_error(envelope: Envelope) -> str | None:
    """Why the envelope's data fails the catalogue's validation (upcast to the current
    schema first), or None when it passes; types outside the catalogue pass unchecked."""
    if envelope.type_name not in EVENT_TYPES:
        return None
    try:
        _, data = upcast(envelope.type_name, envelope.schema_version, dict(envelope.data))
        parse(envelope.type_name, data)
    except ValidationError as exc:
        return f"invalid event data: {validation_summary(exc)}"
    except LookupError as exc:
        return f"invalid event data: {exc}"
    return None


class NotYet(Exception):
    """Raised by a handler for a message that must wait for an earlier one (another
    consumer process holds its work order's previous event). It comes back after
    `wait_seconds` without counting as a failed attempt, for up to `max_waits`
    deliveries: several processes on one durable reorder an order's events by a moment,
    and waiting, not the failure back-off of minutes, puts them back in order."""


class HandedOver(Exception):
    """Raised by a handler whose process may no longer apply the consumer's messages:
    another process took its place (reporting's projector lease). The batch goes back
    to the stream at once and the consumer stops, without retrying or dead-lettering."""


class EventHandler(Protocol):
    """What a service plugs into the consumer."""

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Apply and commit the effects of `deliveries`; raise to have them retried one by one."""
        ...

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Commit a dead-letter record; the message is terminated once this returns."""
        ...


class EventConsumer:
    """A durable pull consumer on a stream, driving one `EventHandler`."""

    def __init__(self, js: JetStreamContext, spec: ConsumerSpec, handler: EventHandler) -> None:
        self._js = js
        self.spec = spec
        self._handler = handler
        self._subscription: JetStreamContext.PullSubscription | None = None

    def config(self) -> ConsumerConfig:
        """The server-side consumer configuration this spec asks for."""
        return ConsumerConfig(
            durable_name=self.spec.durable,
            # The server refuses both fields at once; an existing durable is updated in
            # place from one form to the other (a filter change keeps its ack floor).
            filter_subject=None if self.spec.filter_subjects else self.spec.filter_subject,
            filter_subjects=list(self.spec.filter_subjects) or None,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.spec.ack_wait_seconds,
            max_deliver=-1,
            max_ack_pending=max(self.spec.batch_size * 10, 1000),
        )

    async def ensure(self) -> None:
        """Create the durable consumer, or bring an existing one to this spec."""
        # The server's create call creates or updates a durable consumer of that name.
        await self._js.add_consumer(self.spec.stream, self.config())
        self._subscription = await self._js.pull_subscribe_bind(
            self.spec.durable, stream=self.spec.stream
        )

    async def run_once(self) -> int:
        """Fetch one batch, hand it to the handler and settle every message; return the count."""
        if self._subscription is None:
            await self.ensure()
        assert self._subscription is not None
        try:
            messages = await self._subscription.fetch(
                self.spec.batch_size, timeout=self.spec.fetch_timeout_seconds
            )
        except (TimeoutError, NatsTimeoutError):
            return 0
        deliveries: list[tuple[Msg, Delivery]] = []
        for message in messages:
            parsed = self._parse(message)
            if isinstance(parsed, Delivery):
                deliveries.append((message, parsed))
                continue
            # In stream order: what came before it is settled first, so a handler that
            # skips a refused event's place finds its predecessors applied.
            if deliveries:
                await self._settle(deliveries)
                deliveries = []
            await self._give_up(message, parsed)
        if deliveries:
            await self._settle(deliveries)
        return len(messages)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set or the handler hands over (`HandedOver`);
        connection trouble pauses the loop, never ends it."""
        try:
            while not stop.is_set():
                try:
                    await self.run_once()
                except asyncio.CancelledError:
                    raise
                except HandedOver as exc:
                    log.warning("consumer.handed_over", durable=self.spec.durable, why=str(exc))
                    return
                except Exception as exc:
                    # The handler's own failures are settled inside run_once; what reaches
                    # here is the bus itself (a reconnect, a consumer deleted under us).
                    log.warning("consumer.loop_error", durable=self.spec.durable, error=repr(exc))
                    self._subscription = None
                    await asyncio.sleep(_RECONNECT_PAUSE_SECONDS)
        finally:
            await self.close()

    async def close(self) -> None:
        """Drop the pull subscription; the durable consumer stays on the server.

        A message can reach the subscription after a fetch gave up waiting (the pull request
        outlives it on the server) and then sits in its queue with nobody to take it. A
        connection's drain waits for such queues to empty, which never happens: shutting
        down hung until the drain timed out. Unsubscribing first lets the drain finish; a
        message left unacked that way is redelivered after the ack wait.
        """
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    def _parse(self, message: Msg) -> Delivery | DeadLetter:
        """The delivery of a message, or the dead letter of one that can never be handled."""
        metadata = message.metadata
        envelope: Envelope | None = None
        try:
            envelope = Envelope.from_json(message.data)
            error = catalogue_error(envelope)
        except ValidationError as exc:
            error = f"not a valid event envelope: {validation_summary(exc)}"
        if error is not None:
            return DeadLetter(
                subject=message.subject,
                stream_sequence=metadata.sequence.stream,
                data=message.data,
                error=error,
                num_delivered=metadata.num_delivered,
                envelope=envelope,
            )
        assert envelope is not None
        return Delivery(
            envelope=envelope,
            subject=message.subject,
            stream_sequence=metadata.sequence.stream,
            num_delivered=metadata.num_delivered,
        )

    async def _settle(self, deliveries: list[tuple[Msg, Delivery]]) -> None:
        try:
            await self._handler.handle([delivery for _, delivery in deliveries])
        except HandedOver:
            # Nothing of the batch was committed: whoever took over gets it at once.
            for message, _ in deliveries:
                await message.nak()
            raise
        except Exception as exc:
            if len(deliveries) == 1:
                await self._failed(*deliveries[0], exc)
                return
            log.info(
                "consumer.batch_failed",
                durable=self.spec.durable,
                size=len(deliveries),
                error=repr(exc),
            )
            for message, delivery in deliveries:
                await self._settle([(message, delivery)])
            return
        for message, _ in deliveries:
            await message.ack()
        CONSUMED.labels(self.spec.durable, "handled").inc(len(deliveries))

    async def _failed(self, message: Msg, delivery: Delivery, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, NotYet) and delivery.num_delivered < self.spec.max_waits:
            log.info(
                "consumer.waiting",
                durable=self.spec.durable,
                event_id=str(delivery.envelope.id),
                attempt=delivery.num_delivered,
                reason=str(exc),
            )
            await message.nak(delay=self.spec.wait_seconds)
            CONSUMED.labels(self.spec.durable, "waiting").inc()
            return
        limit = self.spec.max_waits if isinstance(exc, NotYet) else self.spec.max_deliver
        if delivery.num_delivered >= limit:
            await self._give_up(
                message,
                DeadLetter(
                    subject=delivery.subject,
                    stream_sequence=delivery.stream_sequence,
                    data=message.data,
                    error=error,
                    num_delivered=delivery.num_delivered,
                    envelope=delivery.envelope,
                ),
            )
            return
        delay = self.spec.retry_delay(delivery.num_delivered)
        log.warning(
            "consumer.retry",
            durable=self.spec.durable,
            event_id=str(delivery.envelope.id),
            attempt=delivery.num_delivered,
            delay_s=delay,
            error=error,
        )
        await message.nak(delay=delay)
        CONSUMED.labels(self.spec.durable, "retried").inc()

    async def _give_up(self, message: Msg, letter: DeadLetter) -> None:
        try:
            await self._handler.dead_letter(letter)
        except HandedOver:
            await message.nak()
            raise
        except Exception as exc:
            # The record is not committed, so the message must come back.
            log.error("consumer.dead_letter_failed", durable=self.spec.durable, error=repr(exc))
            await message.nak(delay=self.spec.retry_delay(letter.num_delivered))
            CONSUMED.labels(self.spec.durable, "retried").inc()
            return
        log.error(
            "consumer.dead_lettered",
            durable=self.spec.durable,
            subject=letter.subject,
            stream_sequence=letter.stream_sequence,
            error=letter.error,
        )
        await message.term()
        CONSUMED.labels(self.spec.durable, "dead_lettered").inc()
