"""The bus admits only its users, and each may publish only its own subjects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import nats
import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import NoServersError
from nats.js.api import AckPolicy, ConsumerConfig

from shared.nats import ensure_streams
from shared.subjects import EVENTS_STREAM
from tests.conftest import SecuredNats

FORGED = "events.acme.sunny.workorder.reported"
NOTIFICATION = "events.acme.sunny.notification.sent"


@asynccontextmanager
async def client(url: str) -> AsyncIterator[tuple[Client, list[str]]]:
    """A connection that records the server's asynchronous errors (permission violations)."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2, error_cb=on_error)
    try:
        yield nc, errors
    finally:
        await nc.close()


async def stored(nc: Client, subject: str) -> int:
    """How many messages of `subject` the EVENTS stream holds."""
    info = await nc.jetstream().stream_info(EVENTS_STREAM, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def refused(nc: Client, errors: list[str], publish: Callable[[], object]) -> bool:
    """Whether the server refused the publish with a permissions violation."""
    await publish()  # type: ignore[misc]
    await nc.flush()
    for _ in range(50):
        if any("permissions violation" in e.lower() for e in errors):
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.fixture
async def bus(secured_nats: SecuredNats) -> SecuredNats:
    """The secured server with EVENTS created by dispatch."""
    async with client(secured_nats.url("dispatch")) as (nc, _):
        await ensure_streams(nc.jetstream(), streams=(EVENTS_STREAM,))
    return secured_nats


async def test_a_client_without_credentials_cannot_connect(bus: SecuredNats) -> None:
    with pytest.raises((NoServersError, NatsError, OSError)):
        async with client(bus.server.url):
            pass
    with pytest.raises((NoServersError, NatsError, OSError)):
        async with client(bus.url("dispatch").replace(bus.passwords["dispatch"], "wrong")):
            pass


async def test_notify_cannot_publish_work_order_events_but_its_own(bus: SecuredNats) -> None:
    async with client(bus.url("notify")) as (nc, errors):
        assert await refused(nc, errors, lambda: nc.publish(FORGED, b"{}"))
        ack = await nc.jetstream().publish(NOTIFICATION, b"{}")
        assert ack.stream == EVENTS_STREAM
    async with client(bus.url("dispatch")) as (nc, _):
        assert await stored(nc, FORGED) == 0
        assert await stored(nc, NOTIFICATION) == 1


async def test_dispatch_publishes_work_order_events_and_nothing_else(bus: SecuredNats) -> None:
    async with client(bus.url("dispatch")) as (nc, errors):
        ack = await nc.jetstream().publish(FORGED, b"{}")
        assert ack.stream == EVENTS_STREAM
        assert await refused(nc, errors, lambda: nc.publish(NOTIFICATION, b"{}"))
        assert await refused(nc, errors, lambda: nc.publish("kpi.acme.sunny.backlog", b"{}"))
        assert await stored(nc, NOTIFICATION) == 0


async def test_an_integrator_reads_with_a_durable_consumer_and_cannot_publish(
    bus: SecuredNats,
) -> None:
    async with client(bus.url("dispatch")) as (nc, _):
        await nc.jetstream().publish(FORGED, b'{"real":true}')
    async with client(bus.url("integrator")) as (nc, errors):
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            "events.acme.>",
            "partner-x",
            stream=EVENTS_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT),
        )
        [message] = await sub.fetch(1, timeout=5)
        assert message.data == b'{"real":true}'
        await message.ack()
        assert await refused(nc, errors, lambda: nc.publish(FORGED, b"{}"))
        delete = f"$JS.API.STREAM.DELETE.{EVENTS_STREAM}"
        assert await refused(nc, errors, lambda: nc.publish(delete, b""))
    async with client(bus.url("dispatch")) as (nc, _):
        assert await stored(nc, FORGED) == 1
