"""Alembic environment of reporting (see `shared.migrations.run_environment`)."""

from __future__ import annotations

from services.reporting.adapters.tables import metadata
from shared.migrations import run_environment

run_environment(metadata, "sqlite+aiosqlite:///./var/reporting.db")
