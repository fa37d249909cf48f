"""The timer scheduler's loop, over a timer store in memory: no database, milliseconds.

The handlers here stand in for the SLA engine and the assignment engine: each records
what it was handed and, as an append would, replaces its work order's timers with those
still pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from services.dispatch.adapters.memory_timer_store import InMemoryTimerStore
from services.dispatch.service_layer.timer_scheduler import TimerScheduler
from services.dispatch.service_layer.timers import (
    Handler,
    OfferExpiry,
    Timer,
    TimerHandlers,
    TimerKind,
)
from shared.clock import ManualClock
from tests.integration.dispatch.timer_store_contract import (
    PROJECT,
    T0,
    TENANT,
    breach,
    keep,
    warning,
)
from tests.swallowed import cancellation_swallowed

CLAIM_SECONDS = 30.0
MAX_SLEEP = 60.0


@dataclass
class Fired:
    """What one handler was handed: the work order, its due timers, the instant."""

    work_order_id: str
    timers: list[Timer]
    now: datetime


@dataclass
class Engines:
    """Handlers for both kinds of timer over one store, and what they fired."""

    timers: InMemoryTimerStore
    pending: dict[str, list[Timer]] = field(default_factory=dict)
    fired: dict[TimerKind, list[Fired]] = field(default_factory=dict)
    failures: int = 0
    """How many firings to fail before succeeding (a lost database, a bug)."""
    held: asyncio.Event | None = None
    """When set, every firing waits for it (a slow append)."""

    async def add(self, *timers: Timer) -> None:
        for timer in timers:
            self.pending.setdefault(timer.work_order_id, []).append(timer)
        await keep(self.timers, *timers)

    def handlers(self) -> TimerHandlers:
        handlers = TimerHandlers()
        for kind in (TimerKind.OFFER_EXPIRY, TimerKind.SLA_CLOCK):
            handlers.register(kind, self._handler(kind))
        return handlers

    def _handler(self, kind: TimerKind) -> Handler:
        async def fire(work_order_id: str, due: Sequence[Timer], now: datetime) -> int:
            if self.held is not None:
                await self.held.wait()
            if self.failures:
                self.failures -= 1
                raise RuntimeError("the database went away")
            self.fired.setdefault(kind, []).append(Fired(work_order_id, list(due), now))
            left = [t for t in self.pending[work_order_id] if t not in due]
            self.pending[work_order_id] = left
            await self.timers.replace(work_order_id, TENANT, PROJECT, [t.row() for t in left])
            return len(due)

        return fire

    def keys(self, kind: TimerKind) -> list[tuple[str, str]]:
        return [(f.work_order_id, t.key) for f in self.fired.get(kind, []) for t in f.timers]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def engines() -> Engines:
    return Engines(InMemoryTimerStore())


@pytest.fixture
def scheduler(engines: Engines, clock: ManualClock) -> TimerScheduler:
    return TimerScheduler(
        engines.timers,
        engines.handlers(),
        clock,
        claim_seconds=CLAIM_SECONDS,
        max_sleep=MAX_SLEEP,
    )


async def test_due_timers_fire_through_the_handler_of_their_kind(
    engines: Engines, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    offer = OfferExpiry("wo-1", 1, T0)
    await engines.add(warning("wo-1", T0), offer, breach("wo-2", T0 + timedelta(hours=1)))

    handled = await scheduler.fire_due()

    assert handled == 2
    assert engines.fired[TimerKind.OFFER_EXPIRY] == [Fired("wo-1", [offer], T0)]
    assert engines.fired[TimerKind.SLA_CLOCK] == [Fired("wo-1", [warning("wo-1", T0)], T0)]


async def test_a_call_made_while_a_firing_is_under_way_returns_once_it_has_committed(
    engines: Engines, scheduler: TimerScheduler
) -> None:
    # The loop and a caller driving the clock by hand share one scheduler (the flaky
    # roster-escalation test: its own call returned before the loop's firing committed).
    engines.held = asyncio.Event()
    await engines.add(warning("wo-1", T0))
    first = asyncio.create_task(scheduler.fire_due())
    await asyncio.sleep(0.01)
    second = asyncio.create_task(scheduler.fire_due())
    await asyncio.sleep(0.01)

    assert not second.done()
    engines.held.set()
    assert (await first, await second) == (1, 0)
    assert engines.keys(TimerKind.SLA_CLOCK) == [("wo-1", "arrival:1:warning:0.5")]


async def test_after_downtime_each_overdue_timer_fires_once_when_it_is_found(
    engines: Engines, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    overdue = [warning("wo-1", T0), breach("wo-1", T0 + timedelta(minutes=3))]
    await engines.add(*overdue, warning("wo-2", T0 + timedelta(minutes=1)))
    clock.advance(timedelta(hours=2))  # the scheduler was down all along

    await scheduler.fire_due()
    again = await scheduler.fire_due()

    fired = engines.fired[TimerKind.SLA_CLOCK]
    assert again == 0
    assert sorted(engines.keys(TimerKind.SLA_CLOCK)) == [
        ("wo-1", "arrival:1:warning:0.5"),
        ("wo-1", "resolution:2:breach"),
        ("wo-2", "arrival:1:warning:0.5"),
    ]
    # Found late: handed the instant it was found, each timer still says when it was due.
    assert {f.now for f in fired} == {T0 + timedelta(hours=2)}
    assert [f.timers for f in fired if f.work_order_id == "wo-1"] == [overdue]


async def test_a_timer_whose_firing_failed_fires_once_its_claim_lapses(
    engines: Engines, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    await engines.add(warning("wo-1", T0))
    engines.failures = 1

    await scheduler.fire_due()
    clock.advance(timedelta(seconds=CLAIM_SECONDS - 1))
    await scheduler.fire_due()  # still claimed by the failed attempt
    assert engines.keys(TimerKind.SLA_CLOCK) == []

    clock.advance(timedelta(seconds=2))
    await scheduler.fire_due()

    assert engines.keys(TimerKind.SLA_CLOCK) == [("wo-1", "arrival:1:warning:0.5")]


async def test_work_orders_fire_together_within_the_concurrency_bound(
    engines: Engines, clock: ManualClock
) -> None:
    await engines.add(*(warning(f"wo-{n}", T0) for n in range(6)))
    at_once = 0
    most = 0
    record = engines.handlers()

    async def slow(work_order_id: str, due: Sequence[Timer], now: datetime) -> int:
        nonlocal at_once, most
        at_once += 1
        most = max(most, at_once)
        for _ in range(3):  # let the others in, if the bound allows
            await asyncio.sleep(0)
        at_once -= 1
        return await record.fire(work_order_id, due, now)

    handlers = TimerHandlers()
    handlers.register(TimerKind.SLA_CLOCK, slow)
    scheduler = TimerScheduler(engines.timers, handlers, clock, concurrency=2)

    assert await scheduler.fire_due() == 6
    assert most == 2
    assert len(engines.keys(TimerKind.SLA_CLOCK)) == 6


async def test_the_loop_sleeps_until_each_next_timer_and_fires_it(
    engines: Engines, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    await engines.add(
        warning("wo-1", T0 + timedelta(seconds=20)),
        breach("wo-1", T0 + timedelta(minutes=3)),
        OfferExpiry("wo-2", 1, T0 + timedelta(seconds=90)),
    )
    running = asyncio.create_task(scheduler.run())
    wake_ups: list[datetime] = []
    try:
        seen = 0
        while clock.now() <= T0 + timedelta(minutes=3):
            until = await asyncio.wait_for(scheduler.round_after(seen), timeout=30)
            seen = scheduler.rounds
            wake_ups.append(until)
            clock.advance(max(until - clock.now(), timedelta(0)))
        await asyncio.wait_for(scheduler.round_after(seen), timeout=30)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    # Each sleep ends at the next timer, or after `max_sleep` when that comes first.
    assert [round((w - T0).total_seconds()) for w in wake_ups] == [20, 80, 90, 150, 180]
    assert engines.keys(TimerKind.OFFER_EXPIRY) == [("wo-2", "offer:1")]
    assert engines.keys(TimerKind.SLA_CLOCK) == [
        ("wo-1", "arrival:1:warning:0.5"),
        ("wo-1", "resolution:2:breach"),
    ]


async def test_a_commit_wakes_the_loop_only_for_a_timer_due_before_it_would_wake(
    engines: Engines, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    await engines.add(warning("wo-1", T0 + timedelta(seconds=40)))
    running = asyncio.create_task(scheduler.run())
    try:
        asleep_until = await asyncio.wait_for(scheduler.round_after(0), timeout=30)
        later = warning("wo-2", T0 + timedelta(seconds=50))
        await engines.add(later)
        scheduler.timers_written(later.fires_at)
        not_woken = scheduler.wake_pending

        sooner = warning("wo-3", T0 + timedelta(seconds=10))
        await engines.add(sooner)
        scheduler.timers_written(sooner.fires_at)
        woken = scheduler.wake_pending
        next_wake = await asyncio.wait_for(scheduler.round_after(1), timeout=30)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    assert asleep_until == T0 + timedelta(seconds=40)
    assert (not_woken, woken) == (False, True)
    assert next_wake == sooner.fires_at
    assert engines.fired == {}  # woken early, it fired nothing before its time


async def test_with_no_timer_waiting_the_loop_sleeps_at_most_max_sleep(
    scheduler: TimerScheduler,
) -> None:
    running = asyncio.create_task(scheduler.run())
    try:
        asleep_until = await asyncio.wait_for(scheduler.round_after(0), timeout=30)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    assert asleep_until == T0 + timedelta(seconds=MAX_SLEEP)


class SwallowingStore(InMemoryTimerStore):
    """A timer store whose look at the next fire time loses a cancellation."""

    def __init__(self) -> None:
        super().__init__()
        self.looking = asyncio.Event()

    async def next_fire_time(self) -> datetime | None:
        await cancellation_swallowed(self.looking)
        return None


async def test_a_loop_whose_cancellation_the_store_swallowed_stops(
    engines: Engines, clock: ManualClock
) -> None:
    store = SwallowingStore()
    scheduler = TimerScheduler(store, engines.handlers(), clock, max_sleep=MAX_SLEEP)
    task = asyncio.create_task(scheduler.run())
    await store.looking.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5.0)

    assert task in done and task.cancelled(), "the loop ran on into its sleep"
