"""The upkeep of dispatch's and notify's outboxes as their rows grow with the history.

The published counts kept per day (`shared.published_counts`) are what the publishers'
stream check reads instead of counting the published rows: within the days the stream
keeps, and counted from the rows already published when the table comes. Published
rows are deleted once past the keep period (`shared.outbox_retention`); pending ones
never are."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.outbox_upkeep import measure
from services.dispatch.adapters import tables as t_dispatch
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import MIGRATIONS as DISPATCH_MIGRATIONS
from services.dispatch.adapters.migrate import upgrade as upgrade_dispatch
from services.dispatch.adapters.outbox import SqlOutbox
from services.dispatch.service_layer.ports import AppendBatch, NewEvent
from services.notify.adapters.migrate import MIGRATIONS as NOTIFY_MIGRATIONS
from services.notify.adapters.migrate import upgrade as upgrade_notify
from services.notify.adapters.outbox import SqlNotifyOutbox
from shared.clock import ManualClock
from shared.database import create_engine
from shared.events.recorded import EventMetadata
from shared.migrations import alembic_config
from shared.retention import Retention, prune_expired
from tests.integration.notify.test_outbox_publisher import queue_events

NOW = datetime.now(UTC)
META = EventMetadata(actor="cs-1", correlation_id="corr-1")


@dataclass
class Service:
    """One service's outbox: how to fill it, open it with a max age, and migrate it."""

    engine: AsyncEngine
    write: Callable[[int], Awaitable[None]]
    opened: Callable[[int], SqlOutbox | SqlNotifyOutbox]
    migrations: Path
    before: str
    """The revision before the counts' table."""


async def _dispatch(engine: AsyncEngine) -> AsyncIterator[Service]:
    await upgrade_dispatch(engine)
    store = SqlEventStore(engine)
    written = 0

    async def write(count: int) -> None:
        nonlocal written
        events = tuple(
            NewEvent(uuid.uuid4(), "workorder.progress_reported", 1, NOW, {"note": str(n)})
            for n in range(count)
        )
        written += 1
        await store.append(AppendBatch(f"wo-{written}", 0, "acme", "sunny", events, META))

    yield Service(engine, write, lambda days: SqlOutbox(engine, days), DISPATCH_MIGRATIONS, "0017")
    await store.close()


async def _notify(engine: AsyncEngine) -> AsyncIterator[Service]:
    await upgrade_notify(engine)

    async def write(count: int) -> None:
        await queue_events(engine, count)

    yield Service(
        engine, write, lambda days: SqlNotifyOutbox(engine, days), NOTIFY_MIGRATIONS, "0007"
    )


@pytest.fixture(params=["dispatch", "notify"])
async def service(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Service]:
    engine = create_engine(database_url)
    made = _dispatch if request.param == "dispatch" else _notify
    async for one in made(engine):
        yield one
    await engine.dispose()


async def publish(service: Service, ages_in_days: list[int]) -> None:
    """Write one event per age and settle each as published that many days ago."""
    await service.write(len(ages_in_days))
    async with service.opened(0).claim(1000) as claim:
        assert len(claim.rows) == len(ages_in_days)
        for row, age in zip(claim.rows, ages_in_days, strict=True):
            await claim.settle([row], {}, NOW - timedelta(days=age))


async def test_the_count_is_of_the_days_the_stream_still_keeps(service: Service) -> None:
    await publish(service, [30, 10, 3, 0, 0])

    counted = {days: await service.opened(days).published_count() for days in (0, 5, 20, 60)}

    # Without a max age every event counts; with one, only the days kept whole.
    assert counted == {0: 5, 5: 3, 20: 4, 60: 5}


async def test_a_row_marked_again_counts_once(service: Service) -> None:
    await service.write(2)
    async with service.opened(0).claim(1000) as claim:
        await claim.settle(claim.rows, {}, NOW)
        await claim.settle(claim.rows, {}, NOW)

    assert await service.opened(0).published_count() == 2


def _migrate(conn: Connection, migrations: Path, revision: str, down: bool = False) -> None:
    config = alembic_config(migrations)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_the_upgrade_counts_the_rows_published_before_it(service: Service) -> None:
    await publish(service, [10, 3, 0])
    async with service.engine.begin() as conn:
        await conn.run_sync(_migrate, service.migrations, service.before, True)
        await conn.run_sync(_migrate, service.migrations, "head")

    assert await service.opened(0).published_count() == 3
    assert await service.opened(5).published_count() == 2
    await publish(service, [0])
    assert await service.opened(5).published_count() == 3


async def settle_each(service: Service, ages_in_days: list[int | None]) -> None:
    """Write one event per entry and settle it as published that many days ago (None:
    leave it pending)."""
    await service.write(len(ages_in_days))
    async with service.opened(0).claim(1000) as claim:
        rows = sorted(claim.rows, key=lambda row: row.id)
        for row, age in zip(rows, ages_in_days, strict=True):
            if age is not None:
                await claim.settle([row], {}, NOW - timedelta(days=age))


async def pending_ids(service: Service) -> list[int]:
    async with service.opened(0).claim(1000) as claim:
        return sorted(row.id for row in claim.rows)


async def test_published_rows_past_the_period_go_oldest_first_and_pending_ones_stay(
    service: Service,
) -> None:
    await settle_each(service, [10, 10, None, 9, 0, 20])
    [waiting] = await pending_ids(service)
    outbox = service.opened(0)
    week_ago = NOW - timedelta(days=7)

    first = await outbox.prune(week_ago, 2)
    second = await outbox.prune(week_ago, 2)
    third = await outbox.prune(week_ago, 2)

    # Batches of two from the oldest: two old rows; the pending one skipped and the next
    # old one; then the row of today, behind which nothing is looked at (the last row,
    # published 20 days ago after it, waits for the rows before it to go).
    assert [first, second, third] == [2, 1, 0]
    assert await pending_ids(service) == [waiting]
    assert await outbox.published_count() == 5


async def test_the_retention_loop_prunes_the_outbox_in_batches(service: Service) -> None:
    await settle_each(service, [30, 30, 30, 30, 30, 0])

    pruned = await prune_expired(
        service.opened(0), ManualClock(NOW), Retention(days=7, batch=2), "outbox"
    )

    assert pruned == 5
    assert await service.opened(0).published_count() == 6


async def test_the_benchmark_fills_counts_and_prunes_what_it_says(database_url: str) -> None:
    # bench/outbox_upkeep.py on a small outbox: its fill is what the upkeep reads (the
    # count of the rows, spread over the days, every row published), and its timings
    # are there; their values are the benchmark's, not the test's.
    engine = create_engine(database_url)
    try:
        measured = await measure(engine, rows=300, days=10, repeat=1)
        async with engine.connect() as conn:
            days = await conn.scalar(select(func.count()).select_from(t_dispatch.outbox_published))
    finally:
        await engine.dispose()

    assert measured["rows"] == 300
    assert 10 <= int(days or 0) <= 11
    assert {"old_count_ms", "new_count_ms", "prune_batch_ms", "prune_nothing_ms"} <= set(measured)
