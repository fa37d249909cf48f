"""Many rows into one table in one statement, optionally adding to a counter on conflict.

The projector writes thousands of sample and roll-up rows a batch. On PostgreSQL (and any
other dialect) this is SQLAlchemy's executemany, with `ON CONFLICT DO UPDATE` where asked.
On SQLite the rows go straight to the driver's executemany: SQLAlchemy's per-row parameter
handling cost more than the inserts themselves there. That fast path uses the column
types' bind processors (a private SQLAlchemy API) for the UTC timestamps; the test
`tests/integration/reporting/test_insert_many.py` pins it to the public path's results.

A rebuild's per-sample rows (a million for a million events) go to PostgreSQL by COPY
instead (`copy_many`, asyncpg's `copy_records_to_table`): 200,000 of them took 1.6 s of
wall and 0.55 s of the client's CPU against executemany's 6 to 7 s and 3.6 s.
`insert_new` takes that path, or `insert_many` where COPY is not there, for the rebuild's
orders, positions and samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.database import Database
from shared.sqltypes import UTCDateTime

NewRows = tuple[Table, Sequence[str], list[tuple[Any, ...]]]
"""Rows for one table: the table, its columns, the rows' values in their order."""


def insert_many(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    add_on_conflict: str | None = None,
    *,
    raw_sqlite: bool = True,
) -> None:
    """Insert `rows` (values in the order of `columns`, built as tuples: thousands a batch);
    with `add_on_conflict`, a row whose key exists adds its value to that column instead.

    `raw_sqlite=False` takes SQLAlchemy's public path on SQLite too (what the test compares
    the fast path with).
    """
    if not rows:
        return
    if conn.dialect.name == "sqlite" and raw_sqlite:
        _raw_sqlite(conn, table, columns, rows, add_on_conflict)
        return
    upsert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = upsert(table)
    if add_on_conflict is not None:
        statement = statement.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={add_on_conflict: table.c[add_on_conflict] + statement.excluded[add_on_conflict]},
        )
    conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])


def copies(engine: AsyncEngine) -> bool:
    """Whether `copy_many` can write through `engine`: PostgreSQL through asyncpg."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"


async def copy_many(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert `rows` (values in the order of `columns`) by PostgreSQL's COPY, in `conn`'s
    transaction: no conflict handling, so only into rows nobody else writes (a rebuild's
    new generation). The UTC timestamps get their type's checks (a naive one is refused)."""
    if not rows:
        return
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None, "a connection checked out of the pool has its driver's"
    await driver.copy_records_to_table(
        table.name,
        records=_bound(conn.dialect, table, columns, rows),
        columns=list(columns),
        schema_name=table.schema,
    )


async def insert_new(
    database: Database,
    writes: Sequence[NewRows],
    then: Callable[[Connection], None] | None = None,
) -> None:
    """Insert rows nobody else writes (a rebuild's new generation), then run `then`, in one
    transaction: by COPY where `copies` allows it, elsewhere by `insert_many`."""
    engine = database.engine
    if copies(engine):
        async with engine.begin() as conn:
            for table, columns, rows in writes:
                await copy_many(conn, table, columns, rows)
            if then is not None:
                await conn.run_sync(then)
        return

    def unit(conn: Connection) -> None:
        for table, columns, rows in writes:
            insert_many(conn, table, columns, rows)
        if then is not None:
            then(conn)

    await database.run(unit, write=True)


def _raw_sqlite(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    add_on_conflict: str | None,
) -> None:
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    if add_on_conflict is not None:
        keys = ", ".join(c.name for c in table.primary_key.columns)
        sql += (
            f" ON CONFLICT ({keys}) DO UPDATE SET"
            f" {add_on_conflict} = {add_on_conflict} + excluded.{add_on_conflict}"
        )
    conn.exec_driver_sql(sql, _bound(conn.dialect, table, columns, rows))


def _bound(
    dialect: Dialect, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """`rows` with their UTC timestamps as the driver takes them (SQLite: SQLAlchemy's text
    form, which the range queries compare); the drivers take every other value as it is."""
    dated = [
        (i, process)
        for i, c in enumerate(columns)
        if isinstance(table.c[c].type, UTCDateTime)
        and (process := table.c[c].type._cached_bind_processor(dialect)) is not None
    ]
    if not dated:
        return rows
    processed = []
    for row in rows:
        values = list(row)
        for i, process in dated:
            if values[i] is not None:
                values[i] = process(values[i])
        processed.append(tuple(values))
    return processed
