"""notify's events through the shared outbox publisher: in outbox order, once, counted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import REGISTRY
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.migrate import upgrade
from services.notify.adapters.outbox import outbox_publisher
from shared.clock import SystemClock
from shared.database import create_engine
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM
from tests.unit.notify.builders import T0
from wo.processes import NatsServer

ROWS = 250
"""More than one pipelined slice of the lane (100), so a round takes several waves."""


@dataclass
class Bus:
    engine: AsyncEngine
    nc: Client
    js: JetStreamContext


@pytest.fixture
async def bus(database_url: str, nats_server: NatsServer) -> AsyncIterator[Bus]:
    engine = create_engine(database_url)
    await upgrade(engine)
    nc = await connect(nats_server.url, "test-notify-outbox")
    js = nc.jetstream()
    await ensure_streams(js)
    yield Bus(engine, nc, js)
    await nc.close()
    await engine.dispose()


async def queue_events(engine: AsyncEngine, count: int) -> list[str]:
    """Commit `count` notification events to the outbox; their ids in outbox order."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    async with engine.begin() as conn:
        await conn.execute(
            insert(t.outbox),
            [
                {
                    "subject": "events.acme.sunny.notification.sent",
                    "msg_id": msg_id,
                    "body": f'{{"n":{n}}}'.encode(),
                    "created_at": T0,
                }
                for n, msg_id in enumerate(ids)
            ],
        )
    return ids


async def stream_ids(js: JetStreamContext) -> list[str | None]:
    state = (await js.stream_info(EVENTS_STREAM)).state
    return [
        ((await js.get_msg(EVENTS_STREAM, seq)).headers or {}).get("Nats-Msg-Id")
        for seq in range(state.first_seq, state.last_seq + 1)
    ]


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_notify_events_reach_the_stream_once_in_outbox_order_and_are_counted(
    bus: Bus,
) -> None:
    ids = await queue_events(bus.engine, ROWS)
    publisher = outbox_publisher(bus.engine, bus.js, SystemClock())
    published_before = sample("notify_outbox_published_total")

    assert await publisher.publish_pending() == ROWS
    assert await publisher.publish_pending() == 0

    assert await stream_ids(bus.js) == ids
    assert sample("notify_outbox_published_total") == published_before + ROWS
    assert sample("notify_outbox_backlog") == 0


async def test_rows_published_again_after_a_crash_before_marking_are_not_stored_twice(
    bus: Bus,
) -> None:
    ids = await queue_events(bus.engine, ROWS)
    publisher = outbox_publisher(bus.engine, bus.js, SystemClock())
    assert await publisher.publish_pending() == ROWS
    # As if the process had died between JetStream's acknowledgements and the marking.
    async with bus.engine.begin() as conn:
        await conn.execute(update(t.outbox).values(published_at=None))

    assert await publisher.publish_pending() == ROWS

    assert await stream_ids(bus.js) == ids
