"""The event store and idempotency store contracts (`store_contracts`) on every backend:
the memory store, SQLite and (with TEST_DATABASE_URL) PostgreSQL; then what only the SQL
store promises (its outbox rows, other processes on one database, upcasting old rows)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.memory_event_store import MemoryEventStore, MemoryProjectDirectory
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.queries import (
    SqlProjectDirectory,
    WorkOrderFilter,
    list_work_orders,
)
from shared.database import create_engine
from shared.errors import ConcurrencyConflict
from shared.events.catalogue import register_upcaster, unregister_upcaster
from tests.integration.dispatch.store_contracts import (
    META,
    T0,
    Backend,
    EventStoreContract,
    IdempotencyStoreContract,
    batch,
    progress,
)


def memory_backend() -> Backend:
    store = MemoryEventStore()

    async def listed(tenant: str) -> list[dict[str, Any]]:
        rows = [(work_order_id, row) for work_order_id, row in store.work_orders.items()]
        rows = [(i, row) for i, row in rows if row.view.tenant == tenant]
        rows.sort(key=lambda pair: (pair[1].view.reported_at, pair[0]), reverse=True)
        return [{**row.view.summary, "version": row.version} for _, row in rows]

    async def timers(stream_id: str) -> list[tuple[str, datetime]]:
        return sorted((row.key, row.fires_at) for row in store.timers.get(stream_id, ()))

    return Backend(store, MemoryProjectDirectory(store), listed, timers)


async def sql_backend(database_url: str) -> AsyncIterator[Backend]:
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlEventStore(engine)

    async def listed(tenant: str) -> list[dict[str, Any]]:
        page, _ = await list_work_orders(engine, WorkOrderFilter(tenant, None), 1000, None)
        return page

    async def timers(stream_id: str) -> list[tuple[str, datetime]]:
        c = t.sla_timers.c
        query = select(c.key, c.fires_at).where(c.work_order_id == stream_id).order_by(c.key)
        async with engine.connect() as conn:
            return [(key, fires_at) for key, fires_at in (await conn.execute(query)).all()]

    yield Backend(store, SqlProjectDirectory(engine), listed, timers)
    await store.close()
    await engine.dispose()


class TestEventStoreInMemory(EventStoreContract):
    @pytest.fixture
    def backend(self) -> Backend:
        return memory_backend()


class TestIdempotencyStoreInMemory(IdempotencyStoreContract):
    @pytest.fixture
    def backend(self) -> Backend:
        return memory_backend()


class TestSqlEventStore(EventStoreContract):
    @pytest.fixture
    async def backend(self, database_url: str) -> AsyncIterator[Backend]:
        async for made in sql_backend(database_url):
            yield made


class TestSqlIdempotencyStore(IdempotencyStoreContract):
    @pytest.fixture
    async def backend(self, database_url: str) -> AsyncIterator[Backend]:
        async for made in sql_backend(database_url):
            yield made


async def test_outbox_rows_commit_with_the_events_and_carry_the_envelope(
    store: SqlEventStore,
) -> None:
    await store.append(batch("wo-1", 0, progress("a"), progress("b")))

    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(t.outbox).order_by(t.outbox.c.id))).mappings().all()

    assert [r["version"] for r in rows] == [1, 2]
    assert {r["subject"] for r in rows} == {"events.acme.sunny.workorder.progress_reported"}
    assert {r["status"] for r in rows} == {"pending"}
    envelope = orjson.loads(rows[0]["payload"])
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "workorder.progress_reported.v1"
    assert envelope["subject"] == "wo-1"
    assert envelope["sequence"] == 1
    assert envelope["tenant"] == "acme"
    assert envelope["correlationid"] == "corr-1"
    assert str(rows[0]["event_id"]) == envelope["id"]


async def test_two_store_instances_on_one_database_never_overwrite(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    await upgrade(engines[0])
    stores = [SqlEventStore(e) for e in engines]
    try:
        outcomes = await asyncio.gather(
            *(s.append(batch("wo-9", 0, progress(f"from {i}"))) for i, s in enumerate(stores)),
            return_exceptions=True,
        )
        assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
        assert len(await stores[0].load("wo-9")) == 1
    finally:
        for s in stores:
            await s.close()
        for e in engines:
            await e.dispose()


async def test_two_stores_racing_for_the_same_streams_in_opposite_orders_never_deadlock(
    database_url: str,
) -> None:
    """Each store's group holds several streams; the other's holds them in reverse order."""
    engines = [create_engine(database_url) for _ in range(2)]
    await upgrade(engines[0])
    stores = [SqlEventStore(e) for e in engines]
    streams = [f"wo-{n}" for n in range(8)]
    try:
        for round_ in range(10):
            appends = [
                store.append(batch(stream, round_, progress(f"{i}:{round_}")))
                for i, store in enumerate(stores)
                for stream in (streams if i == 0 else streams[::-1])
            ]
            outcomes = await asyncio.gather(*appends, return_exceptions=True)
            # Per stream exactly one store wins each round; the rest are plain conflicts.
            unexpected = [
                o
                for o in outcomes
                if isinstance(o, Exception) and not isinstance(o, ConcurrencyConflict)
            ]
            assert unexpected == []
            assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == len(streams)
        for stream in streams:
            assert len(await stores[0].load(stream)) == 10
    finally:
        for s in stores:
            await s.close()
        for e in engines:
            await e.dispose()


async def test_upcasters_turn_old_stored_events_into_the_current_shape(
    store: SqlEventStore,
) -> None:
    # A v0 "progress_reported" stored its text as "text"; v1 calls it "note".
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(t.events).values(
                stream_id="wo-old",
                version=1,
                event_id=uuid.uuid4(),
                type_name="workorder.progress_reported",
                schema_version=0,
                tenant="acme",
                project="sunny",
                occurred_at=T0,
                recorded_at=T0,
                data={"text": "old shape"},
                event_metadata=META.model_dump(),
            )
        )
    register_upcaster("workorder.progress_reported", 0, lambda d: {"note": d["text"]})
    try:
        [event] = await store.load("wo-old")
    finally:
        unregister_upcaster("workorder.progress_reported", 0)

    assert event.schema_version == 1
    assert event.data == {"note": "old shape"}
