"""Every access log keeps the contract: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.dispatch.adapters.access_log import SqlAccessLog
from services.dispatch.adapters.memory_access_log import InMemoryAccessLog
from services.dispatch.adapters.migrate import upgrade
from shared.database import create_engine
from tests.integration.dispatch.access_log_contract import AccessLogContract


class TestInMemoryAccessLog(AccessLogContract):
    @pytest.fixture
    def access_log(self) -> InMemoryAccessLog:
        return InMemoryAccessLog()


class TestSqlAccessLog(AccessLogContract):
    @pytest.fixture
    async def access_log(self, database_url: str) -> AsyncIterator[SqlAccessLog]:
        engine = create_engine(database_url)
        await upgrade(engine)
        yield SqlAccessLog(engine)
        await engine.dispose()
