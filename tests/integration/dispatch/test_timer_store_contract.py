"""Every timer store keeps the contract: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.dispatch.adapters.memory_timer_store import InMemoryTimerStore
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.sql_timer_store import SqlTimerStore
from shared.database import create_engine
from tests.integration.dispatch.timer_store_contract import TimerStoreContract


class TestInMemoryTimerStore(TimerStoreContract):
    @pytest.fixture
    def timers(self) -> InMemoryTimerStore:
        return InMemoryTimerStore()

    @pytest.fixture
    def rival(self, timers: InMemoryTimerStore) -> InMemoryTimerStore:
        return timers  # one process's memory: the same store


class TestSqlTimerStore(TimerStoreContract):
    @pytest.fixture
    async def timers(self, database_url: str) -> AsyncIterator[SqlTimerStore]:
        engine = create_engine(database_url)
        await upgrade(engine)
        yield SqlTimerStore(engine)
        await engine.dispose()

    @pytest.fixture
    async def rival(self, database_url: str, timers: SqlTimerStore) -> AsyncIterator[SqlTimerStore]:
        # Another scheduler's store: its own engine, so its own connections and locks.
        engine = create_engine(database_url)
        yield SqlTimerStore(engine)
        await engine.dispose()
