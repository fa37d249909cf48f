"""Bring reporting's database schema to the latest Alembic revision."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from shared import migrations

MIGRATIONS = Path(__file__).parent / "migrations"

# An arbitrary constant, other than dispatch's: instances starting at once migrate in turn.
_PG_MIGRATION_LOCK = 7_201_116


async def upgrade(engine: AsyncEngine) -> None:
    """Run every pending migration inside one transaction."""
    await migrations.upgrade(engine, MIGRATIONS, _PG_MIGRATION_LOCK)
