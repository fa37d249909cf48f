"""notify's write transactions on SQL (SQLite or PostgreSQL), taken in turn.

Every adapter that writes (the tracking recorder, the send log, dead-letter retries, the
inbox channel, the outbox) opens its transaction here, so this process's writers queue
on one lock on SQLite instead of meeting at its file lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.database import is_sqlite

_WRITERS: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


def _sqlite_writer(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[Any]:
    """On SQLite, this process's writers (consumer, sender, outbox) take turns here.

    SQLite has one writer at a time; writers that meet at its file lock wait in its busy
    handler, which sleeps in growing steps of up to 100 ms. That was the p99 latency of
    the benchmark at 200 events/s (about 2 s on SQLite, 0.1 s on PostgreSQL). Queued on
    a lock instead, each starts the moment the previous one commits. Other processes on
    the same file still meet at the file lock, as before.
    """
    if not is_sqlite(engine):
        return contextlib.nullcontext()
    lock = _WRITERS.get(engine.sync_engine)
    if lock is None:
        lock = _WRITERS[engine.sync_engine] = asyncio.Lock()
    return lock


def dialect_insert(dialect: str, table: Any) -> Any:
    """An INSERT of `dialect`, ready for `on_conflict_do_nothing` or `_do_update`."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


class SqlTransaction:
    """One write transaction's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name

    @property
    def connection(self) -> AsyncConnection:
        """The connection this transaction runs on."""
        return self._conn

    def insert_ignoring(self, table: Any, **values: Any) -> Any:
        """An INSERT of this dialect, ready for `on_conflict_do_nothing` or `_do_update`."""
        return dialect_insert(self._dialect, table).values(**values)


class SqlStore:
    """notify's database, written one transaction at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        """A write transaction, committed when the block ends without an error.

        Not to be nested: on SQLite a second one in the same task would wait for ever.
        """
        async with _sqlite_writer(self.engine), self.engine.begin() as conn:
            yield SqlTransaction(conn)
