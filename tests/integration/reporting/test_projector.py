"""The projector on a real nats-server and real SQL: in-order, idempotent, poison-tolerant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.adapters.generations import GENERATION_TABLES
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.projector import Projector
from shared.consumer import ConsumerSpec, DeadLetter, Delivery, EventConsumer
from shared.subjects import EVENTS_STREAM
from tests.integration.reporting.conftest import Bus, wait_for_checkpoint
from tests.unit.reporting.histories import TENANT, OrderStory, random_history
from tests.unit.reporting.support import oracle_figures, projected_figures

START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2027, 1, 15, tzinfo=UTC)


def _spec(durable: str) -> ConsumerSpec:
    # No waiting between attempts and small batches, so a run has many batches.
    return ConsumerSpec(
        durable=durable, max_deliver=10, backoff_seconds=(0.0,), batch_size=7, ack_wait_seconds=2.0
    )


async def _drain(consumer: EventConsumer, rounds: int) -> None:
    for _ in range(rounds):
        await consumer.run_once()


class DiesBeforeAck:
    """A projector whose process "dies" after committing a batch and before the ack."""

    def __init__(self, inner: Projector, deaths: int) -> None:
        self.inner = inner
        self.deaths = deaths

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        await self.inner.handle(deliveries)
        if self.deaths > 0:
            self.deaths -= 1
            raise RuntimeError("died between commit and ack")

    async def dead_letter(self, letter: DeadLetter) -> None:
        await self.inner.dead_letter(letter)


async def _reset(bus: Bus, store: ReadModelStore) -> None:
    await bus.js.purge_stream(EVENTS_STREAM)

    def clear(conn: Connection) -> None:
        for table in (*GENERATION_TABLES, t.dead_letters):
            conn.execute(delete(table))

    await store.database.run(clear, write=True)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=random_history(START), data=st.data())
async def test_duplicates_redeliveries_and_a_restart_give_the_oracle_figures(
    bus: Bus, store: ReadModelStore, history: list[dict[str, object]], data: st.DataObject
) -> None:
    await _reset(bus, store)
    # On the bus: every event, some published twice, the lot shuffled so a work order's
    # later versions often come before earlier ones.
    extra = data.draw(st.lists(st.sampled_from(history), max_size=len(history) // 3))
    published = data.draw(st.permutations(history + extra))
    last = await bus.publish(published)
    durable = f"reporting-{uuid.uuid4().hex[:6]}"
    deaths = data.draw(st.integers(0, 3))
    first = EventConsumer(
        bus.js, _spec(durable), DiesBeforeAck(Projector(store, consumer=durable), deaths)
    )
    await first.ensure()
    await _drain(first, data.draw(st.integers(0, 4)))
    # A restart: a new consumer and projector on the same durable and database.
    second = EventConsumer(bus.js, _spec(durable), Projector(store, consumer=durable))
    await second.ensure()
    for _ in range(200):
        checkpoint = await store.checkpoint(durable)
        info = await bus.js.consumer_info(EVENTS_STREAM, durable)
        if (
            checkpoint is not None
            and checkpoint.stream_sequence >= last
            and not info.num_pending
            and not info.num_ack_pending
        ):
            break
        await second.run_once()
    orders, projects = await store.facts(TENANT)
    assert projected_figures(orders, projects, NOW) == oracle_figures(history, NOW)
    assert await store.dead_letter_count() == 0


async def test_a_poison_event_is_dead_lettered_and_the_orders_later_events_still_apply(
    bus: Bus, store: ReadModelStore
) -> None:
    story = OrderStory("sunny", "repair", START).reported(START)
    story.emit("workorder.assigned", START)  # no assignee: fails validation
    story.emit("workorder.arrived", START, technician="tech-a")
    story.emit("workorder.completed", START, summary="done")
    last = await bus.publish(story.events)
    projector = Projector(store, consumer="reporting")
    consumer = EventConsumer(bus.js, _spec("reporting"), projector)
    await consumer.ensure()
    await _drain(consumer, 3)
    await wait_for_checkpoint(store, "reporting", last)
    [letter] = await store.dead_letters()
    assert letter["event_id"] == story.events[3]["id"]
    assert letter["skipped"] is True
    assert "assignee" in letter["error"]
    order = await store.order(story.order_id)
    assert order is not None
    assert order.version == len(story.events)
    assert order.first_arrived_at == START
    assert order.first_completed_at == START
    assert order.technician == "tech-a"


async def test_a_gap_waits_in_the_pending_buffer_until_the_missing_event_arrives(
    bus: Bus, store: ReadModelStore
) -> None:
    story = OrderStory("sunny", "repair", START).reported(START)
    story.emit("workorder.assigned", START, assignee="tech-a")
    story.emit("workorder.arrived", START, technician="tech-a")
    held_back, rest = story.events[3], story.events[:3] + story.events[4:]
    consumer = EventConsumer(bus.js, _spec("reporting"), Projector(store))
    await consumer.ensure()
    last = await bus.publish(rest)
    await _drain(consumer, 2)
    await wait_for_checkpoint(store, "reporting", last)
    waiting = await store.order(story.order_id)
    assert waiting is not None and waiting.technician is None and waiting.version == 3
    last = await bus.publish([held_back])
    await _drain(consumer, 1)
    await wait_for_checkpoint(store, "reporting", last)
    done = await store.order(story.order_id)
    assert done is not None and done.version == len(story.events)
    assert done.technician == "tech-a" and done.first_arrived_at == START


async def test_a_body_that_is_no_envelope_is_dead_lettered_and_the_projector_goes_on(
    bus: Bus, store: ReadModelStore
) -> None:
    await bus.js.publish("events.acme.sunny.workorder.reported", b"{not json")
    story = OrderStory("sunny", "repair", START).reported(START)
    last = await bus.publish(story.events)
    consumer = EventConsumer(bus.js, _spec("reporting"), Projector(store))
    await consumer.ensure()
    await _drain(consumer, 2)
    await wait_for_checkpoint(store, "reporting", last)
    [letter] = await store.dead_letters()
    assert letter["stream_sequence"] == 1
    assert letter["event_id"] is None and letter["skipped"] is False
    assert "not a valid event envelope" in letter["error"]
    assert (await store.order(story.order_id)) is not None
