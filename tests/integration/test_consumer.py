"""The shared durable consumer against a real nats-server: acks after the handler's commit,
retries one at a time, dead-letters what keeps failing and goes on with later events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

from shared.consumer import (
    ConsumerSpec,
    DeadLetter,
    Delivery,
    EventConsumer,
    HandedOver,
    NotYet,
)
from shared.envelope import envelope_json
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
# No waiting between attempts: the tests count attempts, not seconds.
FAST = ConsumerSpec(durable="test", max_deliver=3, backoff_seconds=(0.0,), batch_size=10)


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    client = await connect(nats_server.url, "consumer-test")
    context = client.jetstream()
    await ensure_streams(context)
    yield context
    await client.close()


async def publish_progress(
    js: JetStreamContext, count: int, data: dict[str, object] | None = None
) -> list[str]:
    """Publish `count` events of one work order (`data` instead of a valid note, if
    given); return their ids in order."""
    stream_id = str(uuid.uuid4())
    ids = []
    for version in range(1, count + 1):
        event = RecordedEvent(
            stream_id=stream_id,
            version=version,
            event_id=uuid.uuid4(),
            type_name="workorder.progress_reported",
            schema_version=1,
            tenant="demo",
            project="sunny-garden",
            occurred_at=T0,
            recorded_at=T0,
            data={"note": f"step {version}"} if data is None else data,
            metadata=EventMetadata(actor="tech-1", correlation_id="c"),
        )
        await js.publish(
            "events.demo.sunny-garden.workorder.progress_reported",
            envelope_json(event, "/dispatch"),
        )
        ids.append(str(event.event_id))
    return ids


@dataclass
class RecordingHandler:
    """Commits into lists; fails for the ids in `poison` (each time) or `flaky` (once each)."""

    poison: set[str] = field(default_factory=set)
    flaky: set[str] = field(default_factory=set)
    handled: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    """`handle:<ids>` and `dead:<id>` in the order they were made."""

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        ids = [str(d.envelope.id) for d in deliveries]
        for event_id in ids:
            if event_id in self.poison:
                raise RuntimeError(f"cannot project {event_id}")
            if event_id in self.flaky:
                self.flaky.discard(event_id)
                raise ConnectionError("database went away")
        self.batches.append(len(ids))
        self.handled.extend(ids)
        self.calls.append("handle:" + ",".join(ids))

    async def dead_letter(self, letter: DeadLetter) -> None:
        self.dead.append(letter)
        self.calls.append(f"dead:{letter.envelope.id if letter.envelope else '-'}")


async def drain(consumer: EventConsumer, rounds: int = 20) -> None:
    """Run the consumer until a round fetches nothing (bounded)."""
    for _ in range(rounds):
        if await consumer.run_once() == 0:
            return


async def settled(js: JetStreamContext) -> bool:
    """True once the server shows nothing pending and nothing awaiting an ack.

    Acks are published without waiting for the server, so they may land a moment after
    `run_once` returns; this waits for them (bounded).
    """
    for _ in range(50):
        info = await js.consumer_info(EVENTS_STREAM, FAST.durable)
        if (info.num_pending, info.num_ack_pending) == (0, 0):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_batch_is_handled_together_and_acked(js: JetStreamContext) -> None:
    ids = await publish_progress(js, 5)
    handler = RecordingHandler()
    consumer = EventConsumer(js, FAST, handler)

    await drain(consumer)

    assert handler.handled == ids
    assert handler.batches == [5]
    assert await settled(js)


async def test_one_poison_event_is_dead_lettered_and_the_others_go_on(
    js: JetStreamContext,
) -> None:
    ids = await publish_progress(js, 4)
    handler = RecordingHandler(poison={ids[1]})
    consumer = EventConsumer(js, FAST, handler)

    await drain(consumer)

    assert handler.handled == [ids[0], ids[2], ids[3]]
    assert len(handler.dead) == 1
    letter = handler.dead[0]
    assert letter.envelope is not None and str(letter.envelope.id) == ids[1]
    assert letter.num_delivered == FAST.max_deliver
    assert "cannot project" in letter.error
    assert await settled(js)

    later = await publish_progress(js, 2)
    await drain(consumer)
    assert handler.handled[-2:] == later


async def test_a_failure_is_retried_and_handled_once(js: JetStreamContext) -> None:
    ids = await publish_progress(js, 3)
    handler = RecordingHandler(flaky={ids[0]})
    consumer = EventConsumer(js, FAST, handler)

    await drain(consumer)

    assert sorted(handler.handled) == sorted(ids)
    assert len(handler.handled) == 3
    assert handler.dead == []


async def test_a_body_that_is_no_envelope_is_dead_lettered_at_once(
    js: JetStreamContext,
) -> None:
    await js.publish("events.demo.sunny-garden.workorder.reported", b'{"not": "an event"}')
    ids = await publish_progress(js, 1)
    handler = RecordingHandler()
    consumer = EventConsumer(js, FAST, handler)

    await drain(consumer)

    assert handler.handled == ids
    assert len(handler.dead) == 1
    assert handler.dead[0].envelope is None
    assert handler.dead[0].num_delivered == 1
    assert handler.dead[0].data == b'{"not": "an event"}'


async def test_unacked_messages_come_back_to_a_restarted_consumer(
    js: JetStreamContext, nats_server: NatsServer
) -> None:
    ids = await publish_progress(js, 3)
    spec = ConsumerSpec(durable=FAST.durable, ack_wait_seconds=1.0, batch_size=10)
    # A first process fetches the batch and dies before its handler committed anything.
    doomed = await connect(nats_server.url, "doomed")
    first = EventConsumer(doomed.jetstream(), spec, RecordingHandler())
    await first.ensure()
    assert first._subscription is not None
    assert len(await first._subscription.fetch(10, timeout=2)) == 3
    await doomed.close()

    handler = RecordingHandler()
    second = EventConsumer(js, spec, handler)
    for _ in range(10):
        await second.run_once()
        if len(handler.handled) == 3:
            break

    # Redeliveries need not come back in stream order: ordering is the handler's job.
    assert sorted(handler.handled) == sorted(ids)
    assert await settled(js)


def test_retry_delays_grow_and_the_last_step_repeats() -> None:
    spec = ConsumerSpec(durable="x", backoff_seconds=(1.0, 5.0, 30.0))
    assert [spec.retry_delay(n) for n in (1, 2, 3, 4, 9)] == [1.0, 5.0, 30.0, 30.0, 30.0]


async def test_ensure_brings_an_existing_consumer_to_the_spec(js: JetStreamContext) -> None:
    await EventConsumer(js, FAST, RecordingHandler()).ensure()
    changed = ConsumerSpec(durable=FAST.durable, ack_wait_seconds=7.0)
    await EventConsumer(js, changed, RecordingHandler()).ensure()

    info = await js.consumer_info(EVENTS_STREAM, FAST.durable)
    assert info.config.ack_wait == 7.0
    assert info.config.max_deliver == -1


async def test_data_the_catalogue_refuses_is_dead_lettered_at_once_and_infrastructure_retried(
    js: JetStreamContext,
) -> None:
    ids = await publish_progress(js, 2)
    bad = await publish_progress(js, 1, data={"note": "x" * 5000, "phone": "13800000000"})
    handler = RecordingHandler(flaky={ids[1]})
    consumer = EventConsumer(js, FAST, handler)

    await drain(consumer)

    # The event whose data fails the catalogue never reached the handler nor was retried.
    [letter] = handler.dead
    assert letter.envelope is not None and str(letter.envelope.id) == bad[0]
    assert letter.num_delivered == 1
    assert letter.error.startswith("invalid event data: note:")
    # Which field failed and why, never the values (they may be a resident's data).
    assert "xxxxx" not in letter.error and "13800000000" not in letter.error
    # A failure of the handler's infrastructure is retried and then handled.
    assert sorted(handler.handled) == sorted(ids)
    assert await settled(js)


async def test_a_dead_letter_is_keyed_by_event_id_not_by_stream_sequence(
    js: JetStreamContext,
) -> None:
    [first] = await publish_progress(js, 1, data={})
    await js.publish("events.demo.sunny-garden.workorder.reported", b"not an envelope")
    handler = RecordingHandler()
    await drain(EventConsumer(js, FAST, handler))

    keys = [letter.key for letter in handler.dead]
    assert keys[0] == f"event:{first}"
    assert keys[1].startswith("body:") and len(keys[1]) == len("body:") + 64
    assert "not an envelope" not in handler.dead[1].error


async def test_a_refused_event_is_dead_lettered_in_stream_order_within_its_batch(
    js: JetStreamContext,
) -> None:
    [before] = await publish_progress(js, 1)
    [refused] = await publish_progress(js, 1, data={})
    [after] = await publish_progress(js, 1)
    handler = RecordingHandler()

    await drain(EventConsumer(js, FAST, handler))

    # One fetch of three: its predecessor is committed before it, its successor after.
    assert handler.calls == [f"handle:{before}", f"dead:{refused}", f"handle:{after}"]
    assert await settled(js)


@dataclass
class HandsOver:
    """A handler whose process lost its place to another (reporting's projector lease)."""

    calls: int = 0

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        self.calls += 1
        raise HandedOver("another process holds the lease")

    async def dead_letter(self, letter: DeadLetter) -> None:
        raise AssertionError("a batch handed over is never dead-lettered")


async def test_a_handler_that_hands_over_stops_the_consumer_and_returns_its_batch_at_once(
    js: JetStreamContext,
) -> None:
    ids = await publish_progress(js, 3)
    gone = HandsOver()

    await EventConsumer(js, FAST, gone).run(asyncio.Event())  # returns by itself

    # Tried once, not one message at a time; whoever took over gets the batch at once.
    assert gone.calls == 1
    handler = RecordingHandler()
    await drain(EventConsumer(js, FAST, handler))
    assert handler.handled == ids and handler.dead == []
    assert await settled(js)


@dataclass
class Waits(RecordingHandler):
    """Cannot apply `waiting` until it has been offered `until` times (an earlier event is
    still with another process)."""

    waiting: str = ""
    until: int = 0
    offered: int = 0

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        if any(str(d.envelope.id) == self.waiting for d in deliveries):
            self.offered += 1
            if self.offered < self.until:
                raise NotYet("its work order's previous event is not applied yet")
        await super().handle(deliveries)


async def test_a_message_that_must_wait_comes_back_soon_and_past_the_failure_limit(
    js: JetStreamContext,
) -> None:
    ids = await publish_progress(js, 3)
    spec = replace(FAST, wait_seconds=0.01, max_waits=50)
    handler = Waits(waiting=ids[1], until=FAST.max_deliver + 3)
    consumer = EventConsumer(js, spec, handler)

    for _ in range(200):
        await consumer.run_once()
        if ids[1] in handler.handled:
            break
        await asyncio.sleep(0.01)

    assert sorted(handler.handled) == sorted(ids)  # waited longer than max_deliver allows
    assert handler.dead == []
    assert await settled(js)


async def test_a_message_waiting_past_max_waits_is_a_dead_letter(js: JetStreamContext) -> None:
    ids = await publish_progress(js, 1)
    spec = replace(FAST, wait_seconds=0.01, max_waits=4)
    handler = Waits(waiting=ids[0], until=1_000)
    consumer = EventConsumer(js, spec, handler)

    for _ in range(200):
        await consumer.run_once()
        if handler.dead:
            break
        await asyncio.sleep(0.01)

    assert [letter.num_delivered for letter in handler.dead] == [4]
    assert "NotYet" in handler.dead[0].error
