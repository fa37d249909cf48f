"""`shared.pull.BatchPull` against a real nats-server: batches in stream order, the next
batch asked for ahead, fewer messages when the stream has no more, a timeout when it has
none, and a clear failure when the consumer is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.nats import connect, ensure_streams
from shared.pull import BatchPull, PullFailed
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer

SUBJECT = "events.acme.sunny.workorder.reported"


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Client]:
    nc = await connect(nats_server.url, "pull-test")
    await ensure_streams(nc.jetstream(), streams=(EVENTS_STREAM,))
    yield nc
    await nc.close()


async def _consumer(client: Client, published: int) -> str:
    js = client.jetstream()
    for n in range(published):
        await js.publish(SUBJECT, str(n).encode())
    info = await js.add_consumer(
        EVENTS_STREAM,
        ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, max_waiting=1),
    )
    assert info.name is not None
    return info.name


async def test_batches_come_in_stream_order_with_the_next_asked_ahead(client: Client) -> None:
    consumer = await _consumer(client, 25)
    read: list[int] = []
    async with BatchPull(client, EVENTS_STREAM, consumer) as pull:
        for size, ahead in ((10, 10), (10, 10), (10, 0)):
            batch = await pull.fetch(size, ahead=ahead, expires=0.5)
            read += [int(m.data) for m in batch]
            assert len(batch) <= size
        # The stream had 25: the last request ended early with the 5 left.
        assert read == list(range(25))
        with pytest.raises(NatsTimeoutError):
            await pull.fetch(10, expires=0.2)


async def test_a_deleted_consumer_fails_the_pull_with_its_reason(client: Client) -> None:
    consumer = await _consumer(client, 3)
    async with BatchPull(client, EVENTS_STREAM, consumer) as pull:
        assert [int(m.data) for m in await pull.fetch(3, expires=0.5)] == [0, 1, 2]
        await client.jetstream().delete_consumer(EVENTS_STREAM, consumer)
        with pytest.raises(PullFailed, match="status 503 no responders: the consumer"):
            await pull.fetch(3, expires=0.5)
