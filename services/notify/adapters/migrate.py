"""Bring notify's database schema to the latest Alembic revision."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from shared import migrations

MIGRATIONS = Path(__file__).parent / "migrations"

# An arbitrary constant of notify's own: instances starting at once migrate one at a time.
_PG_MIGRATION_LOCK = 7_201_117


async def upgrade(engine: AsyncEngine) -> None:
    """Run every pending migration inside one transaction."""
    await migrations.upgrade(engine, MIGRATIONS, _PG_MIGRATION_LOCK)
