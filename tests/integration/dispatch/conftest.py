"""Fixtures of dispatch's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.dispatch.adapters.database import create_engine
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import upgrade


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlEventStore]:
    """An event store on a freshly migrated database (SQLite, and PostgreSQL when configured)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlEventStore(engine)
    yield store
    await store.close()
    await engine.dispose()
