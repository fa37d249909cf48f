"""Alembic environment of dispatch (see `shared.migrations.run_environment`)."""

from __future__ import annotations

from services.dispatch.adapters.tables import metadata
from shared.migrations import run_environment

run_environment(metadata, "sqlite+aiosqlite:///./var/dispatch.db")
