"""A keyed command's first result is kept `IDEMPOTENCY_KEY_DAYS`, then pruned oldest
first, in batches, by the index on its time; the same key is then a new command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.idempotency_retention import SqlIdempotencyKeys
from services.dispatch.adapters.migrate import MIGRATIONS, upgrade
from shared.clock import ManualClock
from shared.database import create_engine
from shared.migrations import alembic_config
from shared.retention import Retention, prune_expired
from tests.integration.dispatch.store_contracts import batch, progress

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@dataclass
class Keys:
    store: SqlEventStore
    keys: SqlIdempotencyKeys
    clock: ManualClock


@pytest.fixture
async def kept(database_url: str) -> AsyncIterator[Keys]:
    engine = create_engine(database_url)
    await upgrade(engine)
    clock = ManualClock(T0)
    store = SqlEventStore(engine, clock=clock.now)
    yield Keys(store, SqlIdempotencyKeys(engine), clock)
    await store.close()
    await engine.dispose()


async def keyed_on_days(kept: Keys, days: list[int]) -> None:
    """One keyed append a day, `key-<day>` on `wo-<day>`, each stored on its day."""
    for day in days:
        to(kept.clock, day)
        await kept.store.append(batch(f"wo-{day}", 0, progress(str(day)), key=f"key-{day}"))


def to(clock: ManualClock, day: int) -> None:
    """Move the clock on to `day` days after T0."""
    clock.advance(T0 + timedelta(days=day) - clock.now())


async def stored(kept: Keys, days: list[int]) -> list[int]:
    found = [await kept.store.idempotent_result("acme", "cs-1", f"key-{day}") for day in days]
    return [day for day, record in zip(days, found, strict=True) if record is not None]


async def test_results_past_the_period_go_in_batches_and_the_rest_stay(kept: Keys) -> None:
    await keyed_on_days(kept, [0, 1, 2, 3, 4, 40])
    to(kept.clock, 40)

    pruned = await prune_expired(kept.keys, kept.clock, Retention(days=30, batch=2), "keys")

    assert pruned == 5
    assert await stored(kept, [0, 1, 2, 3, 4, 40]) == [40]


async def test_a_batch_takes_the_oldest_first(kept: Keys) -> None:
    await keyed_on_days(kept, [0, 1, 2])

    deleted = await kept.keys.prune(T0 + timedelta(days=30), 2)

    assert deleted == 2
    assert await stored(kept, [0, 1, 2]) == [2]


async def test_a_key_past_its_period_is_a_new_command(kept: Keys) -> None:
    await keyed_on_days(kept, [0])
    to(kept.clock, 31)
    replay = await kept.store.append(batch("wo-0", 1, progress("again"), key="key-0"))
    assert replay.duplicate_of is not None

    await kept.keys.prune(kept.clock.now() - timedelta(days=30), 1000)
    again = await kept.store.append(batch("wo-0", 1, progress("again"), key="key-0"))

    assert again.duplicate_of is None and again.version == 2


def _migrate(conn: Connection, revision: str, down: bool = False) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


def _indexes(conn: Connection) -> set[str | None]:
    return {index["name"] for index in inspect(conn).get_indexes("idempotency_keys")}


async def test_the_upgrade_finds_the_index_an_operator_built_beforehand(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0018", True)
            assert "ix_idempotency_keys_created_at" not in await conn.run_sync(_indexes)
            # As docs/operations.md has it built on a large store (there CONCURRENTLY).
            await conn.execute(
                text("CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at)")
            )
            await conn.run_sync(_migrate, "head")
            assert "ix_idempotency_keys_created_at" in await conn.run_sync(_indexes)
    finally:
        await engine.dispose()
