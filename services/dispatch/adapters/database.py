"""dispatch's database helpers: the shared engines (`shared.database`), under their old name."""

from __future__ import annotations

from shared.database import IMMEDIATE, Database, create_engine, is_sqlite

__all__ = ["IMMEDIATE", "Database", "create_engine", "is_sqlite"]
