"""Alembic for every service: one way to migrate a service's own database at start.

Each service keeps its migration scripts in `adapters/migrations`; its `env.py` calls
`run_environment` and its start-up calls `upgrade`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import create_engine


def alembic_config(migrations: Path) -> Config:
    """Alembic configuration pointing at a service's migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    return config


async def upgrade(engine: AsyncEngine, migrations: Path, lock_id: int) -> None:
    """Run every pending migration inside one transaction.

    On PostgreSQL an advisory lock (`lock_id`, one constant per service) makes several
    instances starting at once migrate one at a time.
    """

    def _upgrade(connection: Connection) -> None:
        config = alembic_config(migrations)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({lock_id})")
        await conn.run_sync(_upgrade)
        await conn.commit()


def run_environment(metadata: MetaData, default_url: str) -> None:
    """The body of a service's Alembic `env.py`.

    Runs on the connection `upgrade` hands in, or (for the alembic CLI) on `DATABASE_URL`.
    """

    def _run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()

    async def _run_on_url(url: str) -> None:
        engine = create_engine(url)
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
        await engine.dispose()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_on_url(os.environ.get("DATABASE_URL", default_url)))
