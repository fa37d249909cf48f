"""Alembic environment of notify: on a connection from `migrate.upgrade`, or on DATABASE_URL."""

from __future__ import annotations

from services.notify.adapters.tables import metadata
from shared.sql import run_migrations_env

run_migrations_env(metadata, "sqlite+aiosqlite:///./var/notify.db")
