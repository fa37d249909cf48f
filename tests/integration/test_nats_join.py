"""A service that stops while it waits to join the bus leaves no connection behind."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client

from shared import nats as bus
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer


async def test_a_start_cancelled_while_waiting_for_a_stream_closes_its_connection(
    nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Client] = []
    connected = asyncio.Event()
    connect = bus.connect

    async def recorded(url: str, name: str) -> Client:
        client = await connect(url, name=name)
        made.append(client)
        connected.set()
        return client

    monkeypatch.setattr(bus, "connect", recorded)
    # Nobody creates EVENTS here: the join waits for it, as notify and reporting do
    # until dispatch has started.
    joining = asyncio.create_task(
        bus.connect_with_streams(nats_server.url, "joining", waits_for=(EVENTS_STREAM,))
    )
    await asyncio.wait_for(connected.wait(), 10)
    assert made[0].is_connected

    joining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await joining

    assert made[0].is_closed
