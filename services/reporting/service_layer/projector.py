"""The projector: the `EventHandler` reporting plugs into the shared durable consumer.

A batch is validated, folded and committed with the checkpoint in one transaction
(`apply_events` through the `ReadModelRecorder`); only then does the consumer ack it. An
event whose data fails validation against the catalogue is poison: it is recorded as a
dead letter in that same transaction and its place in the work order's stream is marked
skipped, so the projector goes on without spending redeliveries on it. Anything else that fails (the database)
raises, and the consumer retries and finally dead-letters the message through
`dead_letter`, which also marks its place skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial

from pydantic import ValidationError

from services.reporting.domain.facts import EventFact
from services.reporting.service_layer.ports import DeadLetterRecord, ReadModelRecorder
from services.reporting.service_layer.projection import (
    Waiting,
    WorkingSet,
    event_fact,
    fold_batch,
)
from shared.consumer import DeadLetter, Delivery, dead_letter_key
from shared.envelope import Envelope
from shared.events.catalogue import EVENT_TYPES, parse, upcast
from shared.logging import get_logger
from shared.redact import validation_summary
from shared.tracking import Tracking

log = get_logger(__name__)

DURABLE = "reporting"

Touched = Callable[[set[tuple[str, str]]], Awaitable[None]]


def validated(envelope: Envelope) -> EventFact:
    """The fold's view of an envelope, its data upcast and checked against the catalogue.

    Types outside the catalogue (a newer producer's, notify's until they are catalogued)
    pass unchecked: the fold ignores types it does not know and only moves the position.
    """
    type_name = envelope.type_name
    data = envelope.data
    if type_name in EVENT_TYPES:
        _, data = upcast(type_name, envelope.schema_version, dict(data))
        parse(type_name, data)
    return event_fact(envelope, type_name, data)


async def apply_events(
    recorder: ReadModelRecorder,
    consumer: str,
    items: Sequence[EventFact | Waiting],
    stream_sequence: int,
    dead: Sequence[DeadLetterRecord] = (),
    generation: int | None = None,
) -> WorkingSet:
    """Fold `items` into the read model and advance `consumer` to `stream_sequence`, atomically.

    `generation` None means the current one (the live projector); a rebuild names the
    generation it is filling.
    """
    work = partial(fold_batch, items=items)
    return await recorder.record(Tracking(consumer, stream_sequence), work, dead, generation)


def _record(
    subject: str, stream_sequence: int, envelope: Envelope | None, error: str, n: int, body: bytes
) -> DeadLetterRecord:
    return DeadLetterRecord(
        key=dead_letter_key(envelope, body),
        tenant=envelope.tenant if envelope else None,
        project=envelope.project if envelope else None,
        subject=subject,
        stream_sequence=stream_sequence,
        event_id=str(envelope.id) if envelope else None,
        stream_id=envelope.subject if envelope else None,
        sequence=envelope.sequence if envelope else None,
        error=error,
        num_delivered=n,
        data=body,
        skipped=envelope is not None,
    )


def fold_items(
    deliveries: Iterable[Delivery],
) -> tuple[list[EventFact | Waiting], list[DeadLetterRecord]]:
    """What the fold applies of `deliveries`, and the dead letters of their poison events
    (each leaves a skip marker in its stream in their place)."""
    items: list[EventFact | Waiting] = []
    dead: list[DeadLetterRecord] = []
    for d in deliveries:
        try:
            items.append(validated(d.envelope))
        except (ValidationError, LookupError, KeyError, ValueError) as exc:
            # The values a model refused may be a resident's: never in the error.
            reason = validation_summary(exc) if isinstance(exc, ValidationError) else exc
            body = d.envelope.to_json()
            dead.append(
                _record(
                    d.subject,
                    d.stream_sequence,
                    d.envelope,
                    f"invalid event data: {reason}",
                    d.num_delivered,
                    body,
                )
            )
            items.append(Waiting(d.envelope.subject, d.envelope.sequence, None))
            log.error("projector.poison_event", event_id=str(d.envelope.id), error=str(reason))
    return items, dead


def letter_record(letter: DeadLetter) -> DeadLetterRecord:
    """The row kept of a message given up on."""
    return _record(letter.subject, letter.stream_sequence, letter.envelope, letter.error,
                   letter.num_delivered, letter.data)  # fmt: skip


class Projector:
    """Folds deliveries into the read model; tells `on_change` which projects moved."""

    def __init__(
        self,
        recorder: ReadModelRecorder,
        on_change: Touched | None = None,
        consumer: str = DURABLE,
        generation: int | None = None,
    ) -> None:
        self.recorder = recorder
        self.consumer = consumer
        self._on_change = on_change
        # None: whatever generation is current at each commit (the live projector); a
        # rebuild names the generation it fills.
        self.generation = generation

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Apply and commit a batch with the checkpoint (and its poison events' dead letters)."""
        items, dead = fold_items(deliveries)
        top = max(d.stream_sequence for d in deliveries)
        working = await apply_events(
            self.recorder, self.consumer, items, top, dead, self.generation
        )
        if self._on_change is not None and working.applied:
            await self._on_change(working.touched())

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Record a message the consumer gave up on, and skip its place in its stream."""
        record = letter_record(letter)
        items: list[EventFact | Waiting] = []
        if letter.envelope is not None:
            items.append(Waiting(letter.envelope.subject, letter.envelope.sequence, None))
        working = await apply_events(
            self.recorder,
            self.consumer,
            items,
            letter.stream_sequence,
            [record],
            self.generation,
        )
        if self._on_change is not None and working.applied:
            await self._on_change(working.touched())
