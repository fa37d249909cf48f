"""Engines for SQLite (embedded default, WAL) and PostgreSQL, behaving alike for every service.

Every write transaction on SQLite begins with BEGIN IMMEDIATE, taking the writer lock up
front: `engine.begin()` on an engine of `create_engine`, and `Database.run(write=True)`.
A transaction begun deferred that reads and then writes cannot wait for the lock when
another writer holds it or committed since its read: SQLite answers "database is locked"
at once, whatever the busy timeout. Reads (`engine.connect()`) stay deferred and never
wait for writers.

Every engine also reports its errors and new connections to its `Outage`, so that a
database that is down is logged once per outage, and turns a raw socket error of the
driver into SQLAlchemy's `OperationalError` like every other connection failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import orjson
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.database_errors import Outage

T = TypeVar("T")

IMMEDIATE = "sqlite_begin_immediate"
"""Execution option: on SQLite, start the transaction with BEGIN IMMEDIATE (a writer)."""
SQLITE_CACHE_KIB = 32 * 1024
"""Each SQLite connection's page cache at most, in KiB."""


def json_text(value: Any) -> str:
    """A JSON column's value as text, by orjson (the standard library's encoder was a
    twentieth of a report's time); a value orjson cannot write (an integer past 64 bits)
    goes to the standard library as before, so the database judges it as it always did."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


JSON_CODEC: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": orjson.loads}
"""How every engine writes and reads JSON columns."""


class SqliteEngine(AsyncEngine):
    """An async SQLite engine whose `begin()` is a writer's: BEGIN IMMEDIATE.

    `begin()` is how a unit of work that commits opens its transaction; `connect()`
    (autobegun, deferred) is for reads.
    """

    __slots__ = ()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that holds SQLite's writer lock from its start."""
        async with self.connect() as conn:
            await conn.execution_options(**{IMMEDIATE: True})
            async with conn.begin():
                yield conn


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine; on SQLite with WAL, a busy timeout, working savepoints and
    writers that begin IMMEDIATE (`SqliteEngine`)."""
    parsed = make_url(url)
    outage = Outage(_name(parsed))
    if parsed.get_backend_name() == "sqlite":
        # Connections are only used through context managers, which end their
        # transaction themselves; the pool's extra ROLLBACK would be one more thread hop.
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=pool_size,
            pool_reset_on_return=None,
            **JSON_CODEC,
        )
        _configure_sqlite(engine.sync_engine)
        _watch(engine.sync_engine, outage)
        return SqliteEngine(engine.sync_engine)
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **JSON_CODEC
    )
    _watch(engine.sync_engine, outage)
    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether the engine talks to SQLite (single writer; no SKIP LOCKED)."""
    return engine.dialect.name == "sqlite"


class Database:
    """A service's database: the async engine, and on SQLite a synchronous twin.

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
                **JSON_CODEC,
            )
            _configure_sqlite(self._sqlite)
            _watch(self._sqlite, outage_of(engine))

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


def _configure_sqlite(engine: Engine) -> None:
    # The sqlite3 module's own transaction handling breaks SAVEPOINT and defers BEGIN;
    # SQLAlchemy's documented recipe takes transaction control back.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives an application crash; only an OS crash or power
        # loss can drop the last commits. PostgreSQL is the production store.
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The default page cache (2 MiB) is smaller than the index pages a busy writer
        # touches: a 500,000-event rebuild of reporting ran 6 % faster with 32 MiB.
        # The cache is per connection and grows only as pages are read. (A longer WAL
        # than the default 1,000 pages was faster still for the projector, but its larger
        # checkpoints tripled dispatch's p99 commit time, so it stays at the default.)
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (see the module's docstring).
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def outage_of(engine: AsyncEngine) -> Outage:
    """The outage log of an engine (watched from now on if `create_engine` did not make it)."""
    outage = _OUTAGES.get(engine.sync_engine)
    if outage is None:
        outage = Outage(_name(engine.url))
        _watch(engine.sync_engine, outage)
    return outage


_OUTAGES: weakref.WeakKeyDictionary[Engine, Outage] = weakref.WeakKeyDictionary()


def _name(url: URL) -> str:
    # The database as logged: never the password.
    return url.render_as_string(hide_password=True)


def _watch(engine: Engine, outage: Outage) -> None:
    _OUTAGES[engine] = outage

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        if context.is_pre_ping:
            # A stale pooled connection: the pool connects afresh, and only if that
            # fails is the database down (reported by that attempt).
            return None
        error = context.sqlalchemy_exception or context.original_exception
        replaced: BaseException | None = None
        if context.sqlalchemy_exception is None and isinstance(error, OSError):
            # asyncpg raises the socket's own error when it cannot connect; wrapped, it
            # is a connection failure like any other to every caller.
            replaced = error = sa_exc.OperationalError(
                None, None, error, connection_invalidated=True
            )
        outage.down(error)
        return replaced

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, _record: Any) -> None:
        outage.up()
