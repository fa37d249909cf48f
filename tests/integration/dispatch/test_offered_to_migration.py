"""Migration 0010: the listing's `offered_to` column, filled for orders offered before it."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.dispatch.adapters.migrate import MIGRATIONS, upgrade
from shared.database import create_engine
from shared.migrations import alembic_config

ROW = text(
    "INSERT INTO work_orders (id, tenant, project, kind, category, urgency, status, owner, "
    "reported_at, updated_at, version, summary) VALUES (:id, 'acme', 'sunny', 'repair', "
    "'plumbing', 'normal', :status, 'cs-li', :at, :at, 2, :summary)"
)


def _migrate(conn: Connection, revision: str, down: bool) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_open_offers_made_before_0010_are_listed_after_it(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.run_sync(_migrate, "0009", True)
        offered = '{"offered_to": ["tech-a", "tech-b"], "assignee": null}'
        taken = '{"offered_to": [], "assignee": "tech-c"}'
        await conn.execute(ROW, {"id": "wo-1", "status": "reported", "at": at, "summary": offered})
        await conn.execute(ROW, {"id": "wo-2", "status": "assigned", "at": at, "summary": taken})
        await conn.run_sync(_migrate, "head", False)
        rows: dict[str, str | None] = dict(
            (await conn.execute(text("SELECT id, offered_to FROM work_orders"))).all()
        )
    await engine.dispose()

    assert rows == {"wo-1": ",tech-a,tech-b,", "wo-2": None}
