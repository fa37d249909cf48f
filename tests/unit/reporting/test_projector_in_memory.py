"""The projector on the in-memory read model: a batch once, a redelivery not again, a
failure nothing; without a database or a bus (the storage is the contract suites' job)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import orjson
import pytest

from services.reporting.adapters.memory_read_model import (
    InMemoryReadModelBatch,
    InMemoryReadModelStore,
    ReadModelRows,
)
from services.reporting.domain.facts import OrderFacts, OrderStatus
from services.reporting.service_layer.projection import WorkingSet
from services.reporting.service_layer.projector import DURABLE, Projector
from shared.consumer import Delivery
from shared.envelope import Envelope
from tests.unit.reporting.histories import TENANT, Event, OrderStory, envelope

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def deliveries(events: Sequence[Event], first: int = 1) -> list[Delivery]:
    """The events as the consumer hands them over, from stream sequence `first` on."""
    return [
        Delivery(
            envelope=Envelope.from_json(orjson.dumps(raw)),
            subject=f"events.{TENANT}.{raw['project']}.{str(raw['type']).rsplit('.', 1)[0]}",
            stream_sequence=first + n,
            num_delivered=1,
        )
        for n, raw in enumerate(events)
    ]


class Touched:
    """`on_change`: the projects each committed batch moved."""

    def __init__(self) -> None:
        self.calls: list[set[tuple[str, str]]] = []

    async def __call__(self, projects: set[tuple[str, str]]) -> None:
        self.calls.append(projects)


class DiesAtCommit(InMemoryReadModelBatch):
    """A batch whose rows are written and whose commit then fails (the database gone)."""

    def save(self, working: WorkingSet, before: Mapping[str, OrderFacts]) -> None:
        super().save(working, before)
        raise ConnectionError("the database went away at commit")


async def test_a_batch_is_applied_once_with_the_consumers_position() -> None:
    store, touched = InMemoryReadModelStore(), Touched()
    story = OrderStory("p1", "repair", AT).reported(AT)

    await Projector(store, touched).handle(deliveries(story.events))

    facts = store.rows.orders[story.order_id]
    assert (facts.status, facts.version) == (OrderStatus.REPORTED, 3)
    assert store.rows.positions == {story.order_id: 3}
    assert store.rows.samples == [(None, facts)]
    assert await store.position(DURABLE) == 3
    assert touched.calls == [{(TENANT, "p1")}]


async def test_a_redelivered_batch_is_not_applied_twice() -> None:
    store, touched = InMemoryReadModelStore(), Touched()
    projector = Projector(store, touched)
    story = OrderStory("p1", "repair", AT).reported(AT)
    await projector.handle(deliveries(story.events))
    once = copy.deepcopy(store.rows)

    # The ack was lost: the same messages come again.
    await projector.handle(deliveries(story.events))

    assert store.rows == once
    assert await store.position(DURABLE) == 3
    assert len(touched.calls) == 1


async def test_a_later_event_waits_for_its_predecessor_across_batches() -> None:
    store = InMemoryReadModelStore()
    projector = Projector(store)
    story = OrderStory("p1", "repair", AT).reported(AT)
    first, *rest = story.events

    await projector.handle(deliveries(rest, first=1))
    assert story.order_id not in store.rows.orders
    assert set(store.rows.pending) == {(story.order_id, 2), (story.order_id, 3)}

    await projector.handle(deliveries([first], first=3))
    assert store.rows.orders[story.order_id].version == 3
    assert store.rows.pending == {}


async def test_a_poison_event_is_dead_lettered_with_its_batch_and_its_place_skipped() -> None:
    store = InMemoryReadModelStore()
    poison = envelope("workorder.reported", "wo-poison", "p1", 1, AT, {"kind": 5})

    await Projector(store).handle(deliveries([poison]))

    key = f"event:{poison['id']}"
    assert await store.recorded_dead_letters(DURABLE, {key, "event:other"}) == {key}
    assert store.rows.positions == {"wo-poison": 1}
    assert store.rows.orders == {}
    assert await store.position(DURABLE) == 1


async def test_a_batch_that_fails_leaves_nothing_of_itself() -> None:
    store, touched = InMemoryReadModelStore(DiesAtCommit), Touched()
    story = OrderStory("p1", "repair", AT).reported(AT)
    poison = envelope("workorder.reported", "wo-poison", "p1", 1, AT, {"kind": 5})

    with pytest.raises(ConnectionError):
        await Projector(store, touched).handle(deliveries([*story.events, poison]))

    assert store.rows == ReadModelRows()
    assert await store.position(DURABLE) is None
    assert await store.recorded_dead_letters(DURABLE, {f"event:{poison['id']}"}) == set()
    assert touched.calls == []


async def test_a_residents_erasure_changes_no_order_and_no_figure() -> None:
    store = InMemoryReadModelStore()
    projector = Projector(store)
    story = OrderStory("p1", "repair", AT).reported(AT)
    await projector.handle(deliveries(story.events))
    before = copy.deepcopy(store.rows.orders)
    reference = "rsd_" + "a" * 24
    erased = envelope(
        "resident.erased",
        f"resident:{reference}",
        "p1",
        1,
        AT,
        {
            "resident": reference,
            "work_orders": [story.order_id],
            "projects": ["p1"],
            "erased_by": "dpo-1",
            "reason": "request",
            "keys_destroyed": 1,
        },
    )

    await projector.handle(deliveries([erased], first=4))

    assert store.rows.orders == before
    assert store.rows.samples[1:] == []  # no order changed, so no KPI moved
    assert await store.recorded_dead_letters(DURABLE, {f"event:{erased['id']}"}) == set()
    assert await store.position(DURABLE) == 4
