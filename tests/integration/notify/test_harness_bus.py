"""The harness's own bus connection rides out a nats-server that stops answering for
longer than a JetStream request waits, as the services' connections do: on a loaded
clean-clone run a stall like that failed a test's setup with `nats: timeout`."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from nats.aio.client import Client

import shared.nats
from services.notify.domain.config import NotifyConfig, TenantConfig
from tests.integration.notify.conftest import Harness
from tests.unit.notify.builders import TENANT
from wo.processes import NatsServer

STALL_SECONDS = 6.0
"""Longer than a JetStream API request waits (nats-py's 5 s)."""


async def test_the_harness_waits_out_a_bus_that_stalls_past_a_request_timeout(
    harness: Harness, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert nats_server.process is not None
    pid = nats_server.process.pid
    real_connect = shared.nats.connect
    stalls: list[asyncio.TimerHandle] = []

    async def stalled_once_connected(url: str, name: str, **options: Any) -> Client:
        client = await real_connect(url, name, **options)
        if name == "notify-test" and not stalls:
            # The server stops answering just after the harness connected.
            os.kill(pid, signal.SIGSTOP)
            loop = asyncio.get_running_loop()
            stalls.append(loop.call_later(STALL_SECONDS, os.kill, pid, signal.SIGCONT))
        return client

    monkeypatch.setattr(shared.nats, "connect", stalled_once_connected)
    try:
        await harness.start(NotifyConfig(tenants={TENANT: TenantConfig()}))
    finally:
        for stall in stalls:
            stall.cancel()
        os.kill(pid, signal.SIGCONT)
    assert stalls, "the harness connected through shared.nats.connect"
    assert harness.bus is not None
    info = await harness.bus.jetstream().stream_info("EVENTS")
    assert info.config.name == "EVENTS"
