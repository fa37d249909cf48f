"""notify's handler on the in-memory recorder: a batch planned once with its position, a
redelivery planning nothing twice, a failing batch leaving nothing; without a database
(the storage is the tracking contract suite's job)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import pytest

from services.notify.adapters.memory_batch import (
    InMemoryNotifyBatch,
    InMemoryNotifyRecorder,
    in_memory_recorder,
)
from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.config import Contact, Endpoint, NotifyConfig, RouteTarget, TenantConfig
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.service_layer.handler import NotifyHandler, OutOfOrder
from services.notify.service_layer.ports import FactsAt
from shared.clock import ManualClock
from shared.consumer import DeadLetter, Delivery
from shared.envelope import Envelope
from tests.unit.notify.builders import T0, TENANT, envelope, reported

CONSUMER = "notify"

CONFIG = NotifyConfig(
    tenants={
        TENANT: TenantConfig(
            contacts={
                "cs-li": Contact(
                    name="李客服",
                    language="zh-CN",
                    channels=(ChannelName.WEBHOOK,),
                    webhook=Endpoint(url="http://127.0.0.1:9/hook", secret="whsec_eA=="),
                )
            },
            routes={
                "workorder.reported": (RouteTarget(recipient="owner", template="reported_owner"),)
            },
        )
    }
)


class Commits:
    """`on_commit`: counts the batches that committed something to send."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


class DiesAtCommit(InMemoryNotifyBatch):
    """A batch whose rows are written and whose commit then fails (the database gone)."""

    def save_facts(self, work_orders: Mapping[str, FactsAt]) -> None:
        super().save_facts(work_orders)
        raise ConnectionError("the database went away at commit")


def handler(recorder: InMemoryNotifyRecorder, commits: Commits | None = None) -> NotifyHandler:
    clock = ManualClock(T0)
    return NotifyHandler(recorder, CONFIG, TemplateRenderer(), clock, commits or Commits())


def deliveries(envelopes: Sequence[Envelope], first: int = 1) -> list[Delivery]:
    """The envelopes as the consumer hands them over, from stream sequence `first` on."""
    return [
        Delivery(e, e.nats_subject(), first + n, num_delivered=1) for n, e in enumerate(envelopes)
    ]


def reports(count: int) -> list[Envelope]:
    return [envelope(reported(), 1, work_order_id=f"wo-{n}") for n in range(count)]


async def test_a_batch_is_planned_once_with_the_consumers_position() -> None:
    recorder, commits = in_memory_recorder(), Commits()

    await handler(recorder, commits).handle(deliveries(reports(3)))

    rows = recorder.rows
    planned = sorted(d.work_order_id or "" for d in rows.deliveries.values())
    assert planned == ["wo-0", "wo-1", "wo-2"]
    assert {d.recipient for d in rows.deliveries.values()} == {"person:cs-li"}
    assert {i: at.version for i, at in rows.work_orders.items()} == {
        "wo-0": 1,
        "wo-1": 1,
        "wo-2": 1,
    }
    # Queued for the sender: their events come when they are sent.
    assert {d.status for d in rows.deliveries.values()} == {DeliveryStatus.QUEUED}
    assert await recorder.position(CONSUMER) == 3
    assert commits.count == 1


async def test_a_redelivered_batch_plans_nothing_twice() -> None:
    recorder = in_memory_recorder()
    batch = deliveries(reports(5))
    await handler(recorder).handle(batch)
    once = copy.deepcopy(recorder.rows)

    # The ack was lost: the same messages come again.
    await handler(recorder).handle(batch)

    assert recorder.rows == once
    assert len(recorder.rows.deliveries) == 5
    assert await recorder.position(CONSUMER) == 5


async def test_a_batch_that_fails_at_commit_leaves_nothing_of_itself() -> None:
    recorder, commits = in_memory_recorder(DiesAtCommit), Commits()

    with pytest.raises(ConnectionError):
        await handler(recorder, commits).handle(deliveries(reports(3)))

    assert recorder.rows.deliveries == {}
    assert recorder.rows.work_orders == {}
    assert await recorder.position(CONSUMER) is None
    assert commits.count == 0


async def test_a_batch_out_of_order_plans_nothing() -> None:
    recorder, commits = in_memory_recorder(), Commits()
    first = envelope(reported(), 1, work_order_id="wo-1")
    # Sequence 3 before 2: the consumer redelivers the batch until 2 is there.
    gap = envelope(reported(), 3, work_order_id="wo-1")

    with pytest.raises(OutOfOrder):
        await handler(recorder, commits).handle(deliveries([first, gap]))

    assert recorder.rows.deliveries == {}
    assert recorder.rows.work_orders == {}
    assert recorder.rows.outbox == []
    assert await recorder.position(CONSUMER) is None
    assert commits.count == 0


async def test_a_poison_event_is_dead_lettered_and_its_place_skipped() -> None:
    recorder = in_memory_recorder()
    poison = envelope(reported(), 1, work_order_id="wo-1").model_copy(
        update={"data": {"kind": "no such kind"}}
    )
    body = poison.to_json()
    letter = DeadLetter(poison.nats_subject(), 7, body, "invalid event data", 5, poison)

    await handler(recorder).dead_letter(letter)

    assert await recorder.recorded_dead_letters(CONSUMER, {letter.key}) == {letter.key}
    assert recorder.rows.work_orders["wo-1"].version == 1
    assert recorder.rows.deliveries == {}
    assert await recorder.position(CONSUMER) == 7
