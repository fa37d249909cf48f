"""Fixtures of the console's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser

from services.notify.domain.config import NotifyConfig
from shared.clock import ManualClock
from tests.conftest import FreshPostgresDatabase
from tests.integration.console.browsing import chromium
from tests.integration.console.support import (
    ConsoleStack,
    LateTransport,
    running_console,
    running_notify,
)
from tests.integration.dispatch.api_support import NOW
from wo.processes import NatsServer


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[ConsoleStack]:
    """The console over an in-process dispatch on a fresh database."""
    async with running_console(database_url) as running:
        yield running


@pytest.fixture
async def notify_database(database_url: str) -> AsyncIterator[str]:
    """notify's own database beside dispatch's."""
    if database_url.startswith("sqlite"):
        yield database_url.replace("test.db", "notify.db")
        return
    async with FreshPostgresDatabase() as url:
        yield url


@pytest.fixture
def notify_config() -> NotifyConfig:
    """notify's configuration (a test module may give its own)."""
    return NotifyConfig()


@pytest.fixture
async def both(
    database_url: str, notify_database: str, nats_server: NatsServer, notify_config: NotifyConfig
) -> AsyncIterator[tuple[ConsoleStack, httpx.AsyncClient]]:
    """The console over dispatch and notify; and a client of notify to check what it keeps."""
    # 10:00 in Shanghai, dispatch's test time: no quiet hours hold the residents' messages.
    # notify asks dispatch for residents' phones at send time; dispatch starts after it.
    dispatch = LateTransport()
    notify = running_notify(
        notify_database, nats_server.url, notify_config, ManualClock(NOW), dispatch
    )
    async with (
        notify as (_, transport),
        running_console(database_url, transport) as stack,
        httpx.AsyncClient(transport=transport, base_url="http://notify") as api,
    ):
        dispatch.target = stack.api.transport
        yield stack, api


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (the browser tests skip without it)."""
    async with chromium() as launched:
        yield launched
