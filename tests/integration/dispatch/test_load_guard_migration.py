"""Migration 0007 on PostgreSQL: the load guard's one-call lock and read comes and goes with it."""

from __future__ import annotations

import os

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.dispatch.adapters.migrate import MIGRATIONS, upgrade
from shared.database import create_engine
from shared.migrations import alembic_config
from tests.conftest import FreshPostgresDatabase

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="the function is PostgreSQL's"
)

EXISTS = text("SELECT count(*) FROM pg_proc WHERE proname = 'dispatch_lock_and_read_loads'")


def _migrate(conn: Connection, revision: str, down: bool) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_the_function_is_made_by_0007_and_dropped_by_its_downgrade() -> None:
    async with FreshPostgresDatabase() as url:
        engine = create_engine(url)
        await upgrade(engine)
        seen = []
        async with engine.begin() as conn:
            seen.append(await conn.scalar(EXISTS))
            await conn.run_sync(_migrate, "0006", True)
            seen.append(await conn.scalar(EXISTS))
            await conn.run_sync(_migrate, "head", False)
            seen.append(await conn.scalar(EXISTS))
        await engine.dispose()

    assert seen == [1, 0, 1]
