"""A retention loop keeps rows for the period and prunes them in batches (here the
access log of personal data, which keeps its entries three years by default)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.dispatch.adapters.memory_access_log import InMemoryAccessLog
from services.dispatch.service_layer.access_log import AccessQuery
from shared.clock import ManualClock
from shared.retention import Retention, prune_expired, run_retention
from tests.integration.dispatch.access_log_contract import T0, TENANT, viewed

DAY = 24 * 60


async def _left(log: InMemoryAccessLog) -> list[str | None]:
    return [e.work_order_id for e in await log.read(AccessQuery(TENANT), 100)]


async def test_entries_older_than_the_period_are_pruned_in_batches() -> None:
    log = InMemoryAccessLog()
    await log.record([viewed(minutes) for minutes in range(5)])
    await log.record([viewed(10 * DAY)])
    clock = ManualClock(T0 + timedelta(days=3, minutes=3))

    pruned = await prune_expired(log, clock, Retention(days=3, batch=2), "access_log")

    assert pruned == 3
    assert await _left(log) == [f"wo-{10 * DAY}", "wo-4", "wo-3"]


async def test_the_loop_prunes_again_as_time_passes() -> None:
    log = InMemoryAccessLog()
    await log.record([viewed(0), viewed(2 * DAY)])
    clock = ManualClock(T0 + timedelta(days=1, minutes=1))
    retention = Retention(days=1, batch=10, every_seconds=3600)
    loop = asyncio.create_task(run_retention(log, clock, retention, "access_log"))
    try:
        await _settled()
        at_start = await _left(log)
        clock.advance(timedelta(hours=1))  # the first pass comes within a period
        await _settled()
        first = await _left(log)
        clock.advance(timedelta(days=2, minutes=1))
        await _settled()
        second = await _left(log)
    finally:
        loop.cancel()

    assert at_start == [f"wo-{2 * DAY}", "wo-0"]
    assert first == [f"wo-{2 * DAY}"]
    assert second == []


async def _settled() -> None:
    # The loop's pass is a few awaits on an in-memory log: let it run to its next sleep.
    for _ in range(20):
        await asyncio.sleep(0)
