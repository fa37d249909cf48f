"""The SQLite connections every service opens: WAL, and the page cache the writers need."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import event, text

from shared.database import SQLITE_CACHE_KIB, Database, create_engine, json_text


async def test_both_twins_open_sqlite_with_the_same_settings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    database = Database(engine)
    asked = ("journal_mode", "synchronous", "cache_size", "foreign_keys")
    try:
        async with engine.connect() as conn:
            through_async = [(await conn.execute(text(f"PRAGMA {p}"))).scalar() for p in asked]
        through_sync = await database.run(
            lambda conn: [conn.execute(text(f"PRAGMA {p}")).scalar() for p in asked]
        )
    finally:
        database.close()
        await engine.dispose()

    # synchronous 1 is NORMAL; a negative cache_size is in KiB.
    expected = ["wal", 1, -SQLITE_CACHE_KIB, 1]
    assert through_async == expected
    assert through_sync == expected


async def test_a_sqlite_engines_begin_takes_the_writer_lock_and_connect_does_not(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    begun: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1"))
        async with engine.connect() as conn, conn.begin():
            await conn.execute(text("SELECT 1"))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        await engine.dispose()

    # Writers (`begin()`) hold the lock from their first statement; reads stay deferred.
    assert begun == ["BEGIN IMMEDIATE", "BEGIN"]


def test_json_columns_are_written_as_the_standard_library_would_read_them() -> None:
    value = {"a": [1, 2.5, None, "水管"], 3: True, "nested": {"big": 2**70}}

    assert json.loads(json_text(value)) == json.loads(json.dumps(value))
    assert json.loads(json_text({"n": 2**63 - 1})) == {"n": 2**63 - 1}
