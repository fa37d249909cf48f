"""Rebuild: replay EVENTS from its first message into a fresh generation, then switch to it.

Readers keep the current generation until the switch, a single-row update, so the API
serves the old figures throughout and the new ones from one instant on. The replay uses
an ordered consumer (ephemeral, no acks, in stream order: the right tool for a one-off
read of the whole stream) and the projector's own fold, so the result is what the live
projector would have built. The live projector goes on meanwhile in the old generation;
after the switch the rebuild reads once more up to the stream's end, so whatever the live
projector applied to the old generation in between is in the new one too (both are
idempotent per stream position, so applying an event twice is harmless). The replay folds
the facts only; the KPI samples and roll-up are drawn once per order before the switch,
which costs a fraction of keeping them batch by batch over a million events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.projector import Projector
from shared.consumer import DeadLetter, Delivery
from shared.envelope import Envelope
from shared.subjects import EVENTS_STREAM, EVENTS_SUBJECTS

REBUILD_CONSUMER = "rebuild"

Progress = Callable[[int, int], None]
"""Told (events read, events to read) as the replay goes."""


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild did."""

    generation: int
    previous_generation: int
    events: int
    stream_sequence: int


async def _last_sequence(js: JetStreamContext) -> tuple[int, int]:
    info = await js.stream_info(EVENTS_STREAM)
    return int(info.state.first_seq), int(info.state.last_seq)


async def _replay(
    js: JetStreamContext,
    projector: Projector,
    after: int,
    until: int,
    batch_size: int,
    progress: Progress | None,
    total: int,
    done: int,
) -> int:
    """Apply stream messages `(after, until]` through `projector`; return the count read."""
    if until <= max(after, 0):
        return done
    subscription = await js.pull_subscribe(
        EVENTS_SUBJECTS,
        stream=EVENTS_STREAM,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after + 1,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        ),
    )
    try:
        position = after
        while position < until:
            messages = await subscription.fetch(min(batch_size, until - position), timeout=5.0)
            deliveries: list[Delivery] = []
            for message in messages:
                seq = message.metadata.sequence.stream
                if seq > until:
                    continue
                position = max(position, seq)
                delivery = await _delivery(projector, message)
                if delivery is not None:
                    deliveries.append(delivery)
                done += 1
            if deliveries:
                await projector.handle(deliveries)
            if progress is not None:
                progress(done, total)
    finally:
        await subscription.unsubscribe()
    return done


async def _delivery(projector: Projector, message: Msg) -> Delivery | None:
    seq = message.metadata.sequence.stream
    try:
        envelope = Envelope.from_json(message.data)
    except ValidationError as exc:
        await projector.dead_letter(
            DeadLetter(
                message.subject, seq, message.data, f"not a valid event envelope: {exc}", 1, None
            )
        )
        return None
    return Delivery(envelope, message.subject, seq, 1)


async def rebuild(
    store: ReadModelStore,
    js: JetStreamContext,
    live_consumer: str,
    progress: Progress | None = None,
    batch_size: int = 1000,
) -> RebuildResult:
    """Replay EVENTS into a new generation, switch readers to it, drop the old one."""
    target = await store.prepare_generation()
    replaying = Projector(store, consumer=REBUILD_CONSUMER, generation=target, sampled=False)
    first, last = await _last_sequence(js)
    total = max(0, last - first + 1)
    done = await _replay(js, replaying, first - 1, last, batch_size, progress, total, 0)
    # The figures' samples and roll-up, drawn once per order from its final facts; from
    # here on the catch-up keeps them as the live projector does, batch by batch.
    await store.sample_generation(target)
    projector = Projector(store, consumer=REBUILD_CONSUMER, generation=target)
    previous = await store.switch_generation(target, live_consumer, last)
    # Catch up on what arrived during the replay (the live projector may have put it in
    # the old generation only), now into the generation readers see.
    _, end = await _last_sequence(js)
    done = await _replay(js, projector, last, end, batch_size, progress, total + end - last, done)
    # The new generation now holds everything up to `end`, including what the live
    # projector committed to the old one meanwhile: its position there says so.
    await store.raise_checkpoint(target, live_consumer, end)
    await store.drop_generation(previous)
    return RebuildResult(target, previous, done, end)
