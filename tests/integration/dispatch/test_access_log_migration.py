"""Migration 0016: the access log of personal data starts empty on a store written
before it; its downgrade leaves 0015's tables as they were."""

from __future__ import annotations

from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.migrate import MIGRATIONS
from shared.auth import Role
from shared.database import create_engine
from shared.migrations import alembic_config
from tests.integration.dispatch.api_support import auth, running_api


def _migrate(conn: Connection, revision: str, down: bool = False) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_a_store_written_before_0016_gets_an_empty_log_that_fills_from_then_on(
    database_url: str,
) -> None:
    async with running_api(database_url) as api:
        reported = await api.report()
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_migrate, "0015", True)
        before = await conn.run_sync(_tables)
        await conn.run_sync(_migrate, "0016")
        after = await conn.run_sync(_tables)
        logged = await conn.scalar(select(func.count()).select_from(t.personal_data_access))
    await engine.dispose()

    async with running_api(database_url, register_projects=False) as api:
        read = await api.client.get(
            f"/v1/work-orders/{reported['id']}", headers=auth(Role.SUPERVISOR)
        )
        log = await api.client.get("/v1/privacy/access-log", headers=auth(Role.PRIVACY_OFFICER))

    assert "personal_data_access" not in before and "resident_keys" in before
    assert after - before == {"personal_data_access"} and logged == 0
    assert read.status_code == 200
    assert [e["work_order_id"] for e in log.json()["items"]] == [reported["id"]]
