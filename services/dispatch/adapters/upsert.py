"""Multi-row upserts of the inline views, one statement per table and column set."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable


def upsert(conn: Connection, table: Table, keys: list[str], values: list[dict[str, Any]]) -> None:
    """Insert `values`, replacing the rows whose `keys` they share."""
    statement = _upsert_statement(conn.dialect.name, table, tuple(keys), tuple(values[0]))
    conn.execute(statement, values)


@functools.cache
def _upsert_statement(
    dialect_name: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> Executable:
    # Built once per table and column set: building the statement for every group cost
    # more than compiling it (which SQLAlchemy caches anyway).
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {name: statement.excluded[name] for name in columns if name not in keys}
    # Typed through the annotation: the dialect module is chosen at run time.
    upsert: Executable = statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
    return upsert
