"""Fixtures of dispatch's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import upgrade
from shared.database import create_engine
from tests.integration.dispatch.api_support import Api, running_api


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlEventStore]:
    """An event store on a freshly migrated database (SQLite, and PostgreSQL when configured)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlEventStore(engine)
    yield store
    await store.close()
    await engine.dispose()


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    """dispatch over HTTP (in process) without its timer scheduler: the tests fire timers by
    hand, so they decide when time has passed and nothing fires behind them."""
    async with running_api(database_url, sla_scheduler_enabled=False) as running:
        yield running
