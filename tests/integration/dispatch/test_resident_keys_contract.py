"""Every key ring keeps the contract: in memory, on SQLite and on PostgreSQL; dispatch's
table holds no data key in clear and nothing of an erased one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.resident_keys import SqlKeyRing
from shared.clock import ManualClock
from shared.database import create_engine
from shared.privacy.memory_keyring import InMemoryKeyRing
from shared.privacy.wrapping import KeyWrapper, LocalKeyWrapper
from tests.integration.keyring_contract import OLD, RESIDENT, T0, TENANT, KeyRingContract, RingOn


class TestInMemoryKeyRing(KeyRingContract):
    @pytest.fixture
    def rings(self) -> RingOn:
        store = InMemoryKeyRing(LocalKeyWrapper(OLD))
        return store.with_wrapper


class TestSqlKeyRing(KeyRingContract):
    @pytest.fixture
    async def rings(self, database_url: str) -> AsyncIterator[RingOn]:
        engines = [create_engine(database_url)]
        await upgrade(engines[0])
        clock = ManualClock(T0)

        def ring(wrapper: KeyWrapper) -> SqlKeyRing:
            # Each ring its own engine: another process, its own connections.
            engines.append(create_engine(database_url))
            return SqlKeyRing(engines[-1], wrapper, clock=clock.now)

        yield ring
        for engine in engines:
            await engine.dispose()


async def test_the_table_holds_keys_wrapped_and_an_erased_key_not_at_all(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    ring = SqlKeyRing(engine, LocalKeyWrapper(OLD), clock=ManualClock(T0).now)
    key = await ring.current(TENANT, RESIDENT)

    async with engine.connect() as conn:
        stored = (await conn.execute(select(t.resident_keys))).one()
    await ring.destroy(TENANT, RESIDENT)
    async with engine.connect() as conn:
        erased = (await conn.execute(select(t.resident_keys))).one()
    await engine.dispose()

    assert key.secret not in bytes(stored.wrapped_key)
    assert stored.wrapping_key_id == OLD.wrapping_key_id
    assert erased.wrapped_key is None and erased.wrapping_key_id is None
    assert erased.destroyed_at == T0


async def test_new_residents_keys_made_at_once_are_inserted_together(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    ring = SqlKeyRing(engine, LocalKeyWrapper(OLD), clock=ManualClock(T0).now)
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO resident_keys"):
            inserts.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)

    subjects = [f"rsd_{n}" for n in range(20)]
    keys = await asyncio.gather(*(ring.current(TENANT, s) for s in subjects))
    again = [await ring.current(TENANT, s) for s in subjects]
    await ring.close()
    await engine.dispose()

    assert len(inserts) < len(subjects)
    assert keys == again  # each resident's key stored as made
