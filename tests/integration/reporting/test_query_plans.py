"""The read model's dashboard queries go through the indexes meant for them (SQLite's
planner, which has no statistics: its choice is the same for any data)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from services.reporting.adapters.generations import current_generation
from services.reporting.adapters.read_view import ReadView
from services.reporting.adapters.store import ReadModelStore
from tests.unit.reporting.histories import TENANT


def _plan_of_open_orders(conn: Connection, projects: frozenset[str] | None) -> str:
    """How SQLite runs the statement `ReadView.open_orders` sends."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        sent.append((args[2], args[3]))  # (conn, cursor, statement, parameters, ...)

    event.listen(conn, "before_cursor_execute", record)
    try:
        ReadView(conn, current_generation(conn)).open_orders(TENANT, projects)
    finally:
        event.remove(conn, "before_cursor_execute", record)
    statement, parameters = sent[-1]
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("projects", [None, frozenset({"sunny"}), frozenset({"sunny", "river"})])
async def test_open_orders_are_sought_through_the_status_index_with_or_without_projects(
    store: ReadModelStore, projects: frozenset[str] | None
) -> None:
    if store.database.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's planner chooses by its statistics of the data")
    plan = await store.database.run(_plan_of_open_orders, projects)
    assert "USING INDEX ix_rp_orders_status" in plan, plan
    if projects is not None:
        # Sought by project too: not every order of the project read to find the open ones.
        assert "project=?" in plan, plan
