"""Migration 0014: the residents' blind index starts empty and is filled from the reports
stored before it by a rebuild (`wo dispatch rebuild-residents`, which the sealing of a
store's old reports runs too); its downgrade leaves 0013's tables as they were. Since
0017 the index is written with each report, not caught up from the events."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import MetaData, Table, inspect, select, update
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


def _in_clear(conn: Connection, reporters: dict[str, dict[str, str]]) -> None:
    """The reports and listing rows as a dispatch before sealing wrote them."""
    events = Table("events", MetaData(), autoload_with=conn)
    rows = conn.execute(select(events).where(events.c.type_name == "workorder.reported"))
    for row in rows.mappings().all():
        data = _clear(row["data"], reporters.get(row["stream_id"]))
        key = (events.c.stream_id == row["stream_id"]) & (events.c.version == row["version"])
        conn.execute(update(events).where(key).values(data=data))
    orders = Table("work_orders", MetaData(), autoload_with=conn)
    for row in conn.execute(select(orders)).mappings().all():
        summary = _clear(row["summary"], reporters.get(row["id"]))
        conn.execute(update(orders).where(orders.c.id == row["id"]).values(summary=summary))


def _clear(data: dict[str, Any], reporter: dict[str, str] | None) -> dict[str, Any]:
    clear = reporter or {"name": data["reporter"]["name"]}
    location = {k: v for k, v in data["location"].items() if k != "sealed"}
    return {
        **data,
        "reporter": {"resident_id": data["reporter"]["resident_id"], **clear},
        "location": location,
    }


def _schema(conn: Connection) -> tuple[set[str], set[str]]:
    found = inspect(conn)
    return set(found.get_table_names()), {str(i["name"]) for i in found.get_indexes("events")}


async def test_reports_stored_before_0014_are_found_by_phone_after_a_rebuild(
    database_url: str,
) -> None:
    async with running_api(database_url) as api:
        reported = await api.report(reporter={"name": "张三", "phone": "138 0000 0000"})
        await api.report(reporter={"name": "无电话"})
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_migrate, "0013", True)
        tables, indexes = await conn.run_sync(_schema)
        # As 0013's dispatch stored them: the reporter in clear (the keys that sealed
        # today's reports went with 0015's table).
        await conn.run_sync(_in_clear, {reported["id"]: {"name": "张三", "phone": "138 0000 0000"}})
    await engine.dispose()
    assert "resident_reports" not in tables and "ix_events_stream_starts" not in indexes

    async with running_api(database_url, register_projects=False) as api:
        search = {"params": {"phone": "+8613800000000"}, "headers": auth(Role.SUPERVISOR)}
        before = await api.client.get("/v1/residents", **search)  # type: ignore[arg-type]
        indexed = await api.dispatch.residents.rebuild()
        response = await api.client.get("/v1/residents", **search)  # type: ignore[arg-type]

    assert before.status_code == 200 and before.json()["items"] == []
    assert response.status_code == 200, response.text
    [resident] = response.json()["items"]
    assert resident["name"] == "张三"
    assert [o["id"] for o in resident["recent_orders"]] == [reported["id"]]
    assert indexed == 2
