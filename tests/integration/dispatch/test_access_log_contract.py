"""Every access log keeps the contract: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.access_log import SqlAccessLog
from services.dispatch.adapters.memory_access_log import InMemoryAccessLog
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.service_layer.access_log import AccessQuery
from shared.database import create_engine
from tests.integration.dispatch.access_log_contract import TENANT, AccessLogContract, viewed


class TestInMemoryAccessLog(AccessLogContract):
    @pytest.fixture
    def access_log(self) -> InMemoryAccessLog:
        return InMemoryAccessLog()


class TestSqlAccessLog(AccessLogContract):
    @pytest.fixture
    async def engine(self, database_url: str) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(database_url)
        await upgrade(engine)
        yield engine
        await engine.dispose()

    @pytest.fixture
    async def access_log(self, engine: AsyncEngine) -> AsyncIterator[SqlAccessLog]:
        log = SqlAccessLog(engine)
        yield log
        await log.close()

    async def test_answers_logged_at_once_share_one_commit(
        self, engine: AsyncEngine, access_log: SqlAccessLog
    ) -> None:
        commits: list[object] = []
        event.listen(engine.sync_engine, "commit", commits.append)

        await asyncio.gather(*(access_log.record([viewed(n)]) for n in range(20)))

        found = await access_log.read(AccessQuery(TENANT), 50)
        assert sorted(e.work_order_id or "" for e in found) == sorted(f"wo-{n}" for n in range(20))
        assert len(commits) < 20

    async def test_an_entry_the_database_refuses_fails_only_its_own_answer(
        self, engine: AsyncEngine, access_log: SqlAccessLog
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("only PostgreSQL refuses a NUL in text")
        refused = replace(viewed(1), subject="cs\x00bad")

        outcomes = await asyncio.gather(
            access_log.record([viewed(0)]),
            access_log.record([refused]),
            access_log.record([viewed(2)]),
            return_exceptions=True,
        )

        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], Exception)
        found = await access_log.read(AccessQuery(TENANT), 10)
        assert sorted(e.work_order_id or "" for e in found) == ["wo-0", "wo-2"]

    async def test_closing_stops_the_writer(self, access_log: SqlAccessLog) -> None:
        await access_log.record([viewed(0)])
        await access_log.close()

        await access_log.record([viewed(1)])  # a new writer starts on demand

        assert len(await access_log.read(AccessQuery(TENANT), 10)) == 2
