"""Two notify processes on one database and one bus send every message exactly once.

A claim leases its rows under a token of its own; a send starts only while two send
timeouts remain of its lease and is cut off at one; an outcome is kept only while its
claim still holds the row; two processes handed the same event apply it one after the
other.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from services.notify.adapters import tables as t
from services.notify.adapters.migrate import upgrade
from services.notify.adapters.sends import SqlProjectZones, SqlSendLog
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.tracking import SqlTrackingRecorder
from services.notify.domain.config import NotifyConfig, RouteTarget, TenantConfig
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.service_layer.handler import NotifyHandler
from services.notify.service_layer.ports import NotifyBatch, OutboundMessage
from services.notify.service_layer.sender import DeliverySender
from shared.clock import ManualClock
from shared.consumer import Delivery
from shared.database import create_engine
from shared.events.workorder import Assigned
from tests.integration.notify.conftest import Harness, webhook_contact
from tests.integration.notify.support import SmtpReceiver, eventually, http_receiver
from tests.unit.notify.builders import T0, TENANT, envelope, reported
from wo.processes import NatsServer

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
LEASE = 60.0
SEND_TIMEOUT = 15.0


def owner_hears(url: str) -> NotifyConfig:
    """The owner hears of every report and assignment, by webhook."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={"cs-li": webhook_contact("李客服", f"{url}/cs-li", SECRET)},
                routes={
                    "workorder.reported": (
                        RouteTarget(recipient="owner", template="reported_owner"),
                    ),
                    "workorder.assigned": (RouteTarget(recipient="owner", template="assigned"),),
                },
            )
        }
    )


@dataclass
class RecordingWebhook:
    """A webhook channel that records what it was asked to send; a send can be held
    until the test lets it go."""

    sent: list[str] = field(default_factory=list)
    hold: dict[str, asyncio.Event] = field(default_factory=dict)
    started: dict[str, asyncio.Event] = field(default_factory=dict)

    async def send(self, message: OutboundMessage) -> None:
        self.started.setdefault(message.delivery_id, asyncio.Event()).set()
        gate = self.hold.get(message.delivery_id)
        if gate is not None:
            await gate.wait()
        self.sent.append(message.delivery_id)


def sender(
    engine: AsyncEngine,
    clock: ManualClock,
    channel: RecordingWebhook,
    *,
    lease_seconds: float = LEASE,
    send_timeout_seconds: float = SEND_TIMEOUT,
) -> DeliverySender:
    """A sender on `channel` alone, one send at a time."""
    return DeliverySender(
        SqlSendLog(engine),
        SqlProjectZones(engine),
        owner_hears("http://127.0.0.1:9"),
        {ChannelName.WEBHOOK: channel},
        TemplateRenderer(),
        clock,
        concurrency=1,
        lease_seconds=lease_seconds,
        send_timeout_seconds=send_timeout_seconds,
    )


async def plan_reports(engine: AsyncEngine, clock: ManualClock, count: int) -> None:
    handler = NotifyHandler(
        SqlTrackingRecorder(engine, clock),
        owner_hears("http://127.0.0.1:9"),
        TemplateRenderer(),
        clock,
    )
    await handler.handle(
        [
            Delivery(envelope(reported(), 1, work_order_id=f"wo-{n}"), "events.x", n + 1, 1)
            for n in range(count)
        ]
    )


async def notification_events(engine: AsyncEngine) -> Counter[str]:
    """How many notification events each delivery queued, by subject and type."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.outbox.c.subject))).scalars().all()
    return Counter(rows)


async def test_an_outcome_recorded_after_another_claim_took_the_row_is_not_kept(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock(T0)
    await plan_reports(engine, clock, 1)
    sends = SqlSendLog(engine)
    (first,) = await sends.claim_due(T0, 10, LEASE)
    # The first claim's lease runs out before it records; another process claims the row.
    clock.advance(timedelta(seconds=LEASE + 1))
    (second,) = await sends.claim_due(clock.now(), 10, LEASE)
    assert first.id == second.id and first.lease_token != second.lease_token

    late = sender(engine, clock, RecordingWebhook())
    await late.record([(first, "connection reset")])  # would schedule a retry over the row
    await sender(engine, clock, RecordingWebhook()).record([(second, None)])

    (row,) = await rows(engine)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)
    events = await notification_events(engine)
    assert sorted(events) == [f"events.{TENANT}.sunny-garden.notification.sent"]
    assert sum(events.values()) == 1


async def test_a_send_that_could_outlast_its_lease_never_starts(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    await plan_reports(engine, clock, 2)
    channel = RecordingWebhook()
    ids = {str(r["id"]) for r in await rows(engine)}
    gate = asyncio.Event()
    channel.hold = dict.fromkeys(ids, gate)
    first = sender(engine, clock, channel)  # one send at a time: the other waits its turn

    await first.run_once()
    await eventually(lambda: bool(channel.started), what="a send to start")
    (going,) = channel.started
    # That send takes 40 s of the 60 s lease: 20 s left, less than two send timeouts.
    clock.advance(timedelta(seconds=40))
    gate.set()
    while first.busy:
        await first.run_once()

    assert channel.sent == [going]
    # Once its lease ran out the row is claimed again (here by another process) and sent.
    clock.advance(timedelta(seconds=LEASE))
    other = RecordingWebhook()
    second = sender(engine, clock, other)
    await second.run_once()
    while second.busy:
        await second.run_once()
    assert other.sent == sorted(ids - {going})
    assert {r["id"]: r["status"] for r in await rows(engine)} == dict.fromkeys(ids, "sent")


async def test_a_send_that_hangs_is_cut_off_at_the_send_timeout(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    await plan_reports(engine, clock, 1)
    channel = RecordingWebhook()
    (row,) = await rows(engine)
    channel.hold[row["id"]] = asyncio.Event()  # never let go
    hung = sender(engine, clock, channel, lease_seconds=1.0, send_timeout_seconds=0.2)
    await hung.run_once()
    while hung.busy:
        await hung.run_once()

    (row,) = await rows(engine)
    assert row["status"] == str(DeliveryStatus.FAILED)
    assert "send timeout" in row["last_error"]
    assert channel.sent == []


async def test_a_stop_lets_the_send_in_flight_finish_and_records_it(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    await plan_reports(engine, clock, 2)
    channel = RecordingWebhook()
    gate = asyncio.Event()
    channel.hold = dict.fromkeys([str(r["id"]) for r in await rows(engine)], gate)
    stopping = sender(engine, clock, channel)  # one send at a time
    await stopping.run_once()
    await eventually(lambda: bool(channel.started), what="a send to start")
    (going,) = channel.started

    closing = asyncio.create_task(stopping.close())
    gate.set()
    await closing

    # Sent and recorded: nobody sends it again when its lease runs out. The other one
    # never started; it goes once its lease runs out.
    assert channel.sent == [going]
    assert {r["id"]: r["status"] for r in await rows(engine) if r["id"] == going} == {going: "sent"}


async def rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(select(t.deliveries).order_by(t.deliveries.c.work_order_id))
        return [dict(r) for r in found.mappings()]


class _PauseAfterFacts:
    """A batch that, once it has read the work orders' facts, waits for the test."""

    def __init__(self, batch: NotifyBatch, read: asyncio.Event, go_on: asyncio.Event) -> None:
        self._batch = batch
        self._read = read
        self._go_on = go_on

    def __getattr__(self, name: str) -> object:
        return getattr(self._batch, name)

    def facts(self, work_order_ids: object) -> object:
        found = self._batch.facts(work_order_ids)  # type: ignore[arg-type]
        self._read.set()
        await_only(self._go_on.wait())  # inside the transaction's greenlet
        return found


class PausingRecorder(SqlTrackingRecorder):
    """The tracking recorder, its batch pausing after reading facts."""

    def __init__(self, engine: AsyncEngine, clock: ManualClock) -> None:
        super().__init__(engine, clock)
        self.read = asyncio.Event()
        self.go_on = asyncio.Event()

    async def record(self, tracking, work, dead=()):  # type: ignore[no-untyped-def]
        return await super().record(
            tracking, lambda batch: work(_PauseAfterFacts(batch, self.read, self.go_on)), dead
        )


async def test_two_processes_handed_one_event_apply_it_one_after_the_other(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: two batches never interleave there")
    clock = ManualClock(T0)
    engines = [create_engine(database_url), create_engine(database_url)]
    await upgrade(engines[0])
    config = owner_hears("http://127.0.0.1:9")
    try:
        slow = PausingRecorder(engines[0], clock)
        first = NotifyHandler(slow, config, TemplateRenderer(), clock)
        second = NotifyHandler(
            SqlTrackingRecorder(engines[1], clock), config, TemplateRenderer(), clock
        )
        report = envelope(reported(), 1)
        assign = envelope(Assigned(assignee="tech-wang"), 2)

        # Process A has read the order's facts when its ack wait runs out; B gets the
        # report again, with the assignment behind it.
        a = asyncio.create_task(first.handle([Delivery(report, "events.x", 1, 1)]))
        await slow.read.wait()
        b = asyncio.create_task(
            second.handle([Delivery(report, "events.x", 1, 2), Delivery(assign, "events.x", 2, 1)])
        )

        async def b_done_or_waiting() -> bool:
            return b.done() or await waiting_on_a_lock(engines[0])

        # A goes on once B has finished (the old race) or waits for A's lock on the order.
        await eventually(b_done_or_waiting, what="B to finish or wait for A")
        slow.go_on.set()
        await asyncio.gather(a, b)

        async with engines[0].connect() as conn:
            version = await conn.scalar(select(t.work_orders.c.version))
            planned = await conn.scalar(select(func.count()).select_from(t.deliveries))
        # The order is at the assignment, not set back to the report by A's late commit.
        assert (version, planned) == (2, 2)
    finally:
        for engine in engines:
            await engine.dispose()


async def waiting_on_a_lock(engine: AsyncEngine) -> bool:
    """Whether a session of this database waits for a lock another one holds."""
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def test_two_notify_processes_send_every_message_once(
    tmp_path: Path, nats_server: NatsServer, database_url: str, smtp: SmtpReceiver
) -> None:
    clock = ManualClock(T0)
    instances = [
        Harness(tmp_path / name, nats_server.url, database_url, clock, smtp) for name in "ab"
    ]
    orders = 30
    async with http_receiver() as hooks:
        try:
            for harness in instances:
                (harness.tmp_path).mkdir()
                await harness.start(owner_hears(hooks.url), consumer_batch_size=7)
            publisher = instances[0]
            for n in range(orders):
                await publisher.publish(envelope(reported(), 1, work_order_id=f"wo-{n}"))
                await publisher.publish(
                    envelope(Assigned(assignee="tech-wang"), 2, work_order_id=f"wo-{n}")
                )
            await eventually(
                lambda: len(hooks.requests) >= 2 * orders, within=60, what="every message sent"
            )
            await eventually(
                lambda: all_recorded(instances[0], 2 * orders), what="every outcome recorded"
            )

            async def all_stored() -> bool:
                return await sent_events_stored(instances[0]) >= 2 * orders

            await eventually(all_stored, what="every sent event stored")
            # Both processes publish notify's outbox; JetStream drops the repeats by id.
            stored = await sent_events_stored(instances[0])
        finally:
            for harness in instances:
                await harness.stop()
                if harness.bus is not None:
                    await harness.bus.drain()

    sent = Counter(r.headers["webhook-id"] for r in hooks.requests)
    assert len(sent) == 2 * orders
    assert set(sent.values()) == {1}, [d for d, n in sent.items() if n > 1]
    assert stored == 2 * orders  # one `notification.sent` per delivery, none twice


async def sent_events_stored(harness: Harness) -> int:
    """How many `notification.sent` events the EVENTS stream holds."""
    assert harness.bus is not None
    info = await harness.bus.jetstream().stream_info(
        "EVENTS", subjects_filter="events.*.*.notification.sent"
    )
    return sum((info.state.subjects or {}).values())


async def all_recorded(harness: Harness, count: int) -> bool:
    """Whether `count` deliveries are recorded sent."""
    if harness.notify is None:
        return False
    return len(await harness.deliveries(status="sent")) == count
