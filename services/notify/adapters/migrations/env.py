"""Alembic environment of notify: on a connection from `migrate.upgrade`, or on DATABASE_URL."""

from __future__ import annotations

from services.notify.adapters.tables import metadata
from shared.migrations import run_environment

run_environment(metadata, "sqlite+aiosqlite:///./var/notify.db")
