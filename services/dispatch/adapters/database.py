"""dispatch's database access: the engines come from `shared.sql`; `Database` adds a sync twin."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.sql import IMMEDIATE, configure_sqlite, create_engine, is_sqlite

T = TypeVar("T")

__all__ = ["IMMEDIATE", "Database", "create_engine", "is_sqlite"]


class Database:
    """dispatch's database: the async engine, and on SQLite a synchronous twin.

    aiosqlite hops to a thread and back for every statement, and under load each hop
    waits its turn on the busy event loop: a read of a stream cost four hops, a group
    commit seven. `run` executes a whole unit of work (a sync function of a
    `Connection`) in one transaction: on SQLite in one worker-thread hop, on
    PostgreSQL (natively async) through `run_sync` on the async engine.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sqlite: Engine | None = None
        if is_sqlite(engine):
            self._sqlite = create_sync_engine(
                engine.url.set(drivername="sqlite"),
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_size=8,
            )
            configure_sqlite(self._sqlite)

    async def run(self, work: Callable[..., T], *args: Any, write: bool = False) -> T:
        """Run `work(connection, *args)` in one transaction; `write` takes SQLite's lock first."""
        if self._sqlite is not None:
            return await asyncio.to_thread(_run_sync, self._sqlite, work, write, args)
        async with self.engine.connect() as conn, conn.begin():
            return await conn.run_sync(work, *args)

    def close(self) -> None:
        """Release the synchronous twin's connections (the async engine is the caller's)."""
        if self._sqlite is not None:
            self._sqlite.dispose()


def _run_sync(engine: Engine, work: Callable[..., T], write: bool, args: tuple[Any, ...]) -> T:
    with engine.connect() as conn:
        if write:
            conn = conn.execution_options(**{IMMEDIATE: True})
        with conn.begin():
            return work(conn, *args)
