"""Migration 0014: the residents' blind index starts empty and is filled from the reports
stored before it, on the first search; its downgrade leaves 0013's tables as they were."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from services.dispatch.adapters.migrate import MIGRATIONS
from shared.auth import Role
from shared.database import create_engine
from shared.migrations import alembic_config
from tests.integration.dispatch.api_support import auth, running_api


def _migrate(conn: Connection, revision: str, down: bool = False) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


def _schema(conn: Connection) -> tuple[set[str], set[str]]:
    found = inspect(conn)
    return set(found.get_table_names()), {str(i["name"]) for i in found.get_indexes("events")}


async def test_reports_stored_before_0014_are_found_by_phone_after_it(database_url: str) -> None:
    async with running_api(database_url) as api:
        reported = await api.report(reporter={"name": "张三", "phone": "138 0000 0000"})
        await api.report(reporter={"name": "无电话"})
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_migrate, "0013", True)
        tables, indexes = await conn.run_sync(_schema)
    await engine.dispose()
    assert "resident_reports" not in tables and "ix_events_stream_starts" not in indexes

    async with running_api(database_url, register_projects=False) as api:
        response = await api.client.get(
            "/v1/residents", params={"phone": "+8613800000000"}, headers=auth(Role.SUPERVISOR)
        )
        indexed = await api.dispatch.residents.rebuild()

    assert response.status_code == 200, response.text
    [resident] = response.json()["items"]
    assert resident["name"] == "张三"
    assert [o["id"] for o in resident["recent_orders"]] == [reported["id"]]
    assert indexed == 2
