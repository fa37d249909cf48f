"""Fixtures of reporting's integration tests: a real nats-server, a migrated read model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from services.reporting.adapters.migrate import upgrade
from services.reporting.adapters.store import ReadModelStore
from shared.clock import SystemClock
from shared.database import Database, create_engine
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer


@dataclass
class Bus:
    """A NATS connection with the contract's streams."""

    client: Client
    js: JetStreamContext

    async def publish(self, events: list[dict[str, object]]) -> int:
        """Publish raw envelopes on their subjects (no Nats-Msg-Id: duplicates stay); last seq."""
        last = 0
        for raw in events:
            name = str(raw["type"]).rsplit(".", 1)[0]
            subject = f"events.{raw['tenant']}.{raw['project']}.{name}"
            ack = await self.js.publish(subject, orjson.dumps(raw))
            last = ack.seq
        return last

    async def last_sequence(self) -> int:
        """The EVENTS stream's last sequence."""
        info = await self.js.stream_info(EVENTS_STREAM)
        return int(info.state.last_seq)


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    """A connection to the test's nats-server with EVENTS and KPI created."""
    client = await connect(nats_server.url, "reporting-test")
    js = client.jetstream()
    await ensure_streams(js)
    yield Bus(client, js)
    await client.close()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ReadModelStore]:
    """The read model on a freshly migrated database (SQLite, and PostgreSQL when configured)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    database = Database(engine)
    yield ReadModelStore(database, SystemClock())
    database.close()
    await engine.dispose()


async def wait_for_checkpoint(
    store: ReadModelStore, consumer: str, sequence: int, seconds: float = 30.0
) -> None:
    """Wait until `consumer` has committed the stream up to `sequence`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        checkpoint = await store.checkpoint(consumer)
        if checkpoint is not None and checkpoint.stream_sequence >= sequence:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{consumer} did not reach stream sequence {sequence} in {seconds}s")
