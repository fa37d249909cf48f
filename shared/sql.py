"""SQL helpers every service's adapters share: engines, portable column types, migrations.

Each service owns its own database and schema; what is shared is how an engine is made
(SQLite with WAL for the embedded default, PostgreSQL in production), the column types
that behave alike on both, and how a service brings its schema to Alembic's head.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

IMMEDIATE = "sqlite_begin_immediate"
"""Execution option: on SQLite, start the transaction with BEGIN IMMEDIATE (a writer)."""

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine; on SQLite with WAL, a busy timeout and working savepoints."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Connections are only used through context managers, which end their
        # transaction themselves; the pool's extra ROLLBACK would be one more thread hop.
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=pool_size, pool_reset_on_return=None
        )
        configure_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether the engine talks to SQLite (single writer; no SKIP LOCKED)."""
    return engine.dialect.name == "sqlite"


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and transactions under SQLAlchemy's control."""

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
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and
        # then writes gets SQLITE_BUSY at once instead of waiting for the lock.
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware UTC datetime on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def alembic_config(script_location: Path) -> Config:
    """Alembic configuration pointing at one service's migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    return config


async def upgrade_schema(engine: AsyncEngine, script_location: Path, lock_key: int) -> None:
    """Run every pending migration of a service inside one transaction.

    `lock_key` is the service's PostgreSQL advisory lock: several instances starting at
    once migrate one at a time.
    """

    def _upgrade(connection: Connection) -> None:
        config = alembic_config(script_location)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({lock_key})")
        await conn.run_sync(_upgrade)
        await conn.commit()


def run_migrations_env(metadata: MetaData, default_url: str) -> None:
    """The body of a service's Alembic `env.py`.

    Runs on the connection `upgrade_schema` hands in, or (for the alembic CLI) on
    `DATABASE_URL`, else `default_url`.
    """
    from alembic import context

    def _run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()

    async def _run_on_url(url: str) -> None:
        engine = create_engine(url)
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
        await engine.dispose()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_on_url(os.environ.get("DATABASE_URL", default_url)))
