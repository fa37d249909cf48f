"""The SQLite connections every service opens: WAL, and the page cache the writers need."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from shared.database import SQLITE_CACHE_KIB, Database, create_engine


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
