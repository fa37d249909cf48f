"""Plain FastAPI: one INSERT per report, SQLAlchemy async on dispatch's drivers.

The floor of a Python HTTP write on this stack: validation, one row, one commit. On
SQLite the database runs as dispatch's does (WAL, `synchronous=NORMAL`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, Text, Uuid, event, insert
from sqlalchemy.ext.asyncio import create_async_engine

from bench.peers.report import Report

metadata = MetaData()
work_orders = Table(
    "work_orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("project", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("report", JSON, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)
_INSERT = insert(work_orders)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_app() -> FastAPI:
    """The peer's app (uvicorn factory) on `DATABASE_URL`."""
    url = os.environ["DATABASE_URL"]
    engine = create_async_engine(url, pool_size=10)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/work-orders", status_code=201)
    async def report(body: Report) -> dict[str, str]:
        order_id = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(
                _INSERT,
                {
                    "id": order_id,
                    "project": body.project,
                    "kind": body.kind,
                    "description": body.description,
                    "report": body.fields(),
                    "reported_at": datetime.now(UTC),
                },
            )
        return {"id": str(order_id)}

    return app
