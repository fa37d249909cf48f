"""Alembic environment: runs on a connection handed in by `migrate.upgrade`, or on DATABASE_URL."""

from __future__ import annotations

from services.dispatch.adapters.tables import metadata
from shared.sql import run_migrations_env

run_migrations_env(metadata, "sqlite+aiosqlite:///./var/dispatch.db")
