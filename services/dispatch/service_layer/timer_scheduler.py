"""The timer scheduler: sleeps until the next timer is due, claims it, fires it.

One durable timer machinery, one loop, one claim protocol for every kind of timer (the
SLA clocks' and the offers' expiries): the store (`TimerStore`) hands back each claimed
timer typed, and the scheduler gives a work order's due timers to the handlers
registered for their kinds (`TimerHandlers`).

No polling interval: it sleeps until the store's next fire time and is woken early when a
commit of this process writes a timer due sooner than that (`timers_written`); a commit
that writes only later timers, or none, leaves it asleep rather than costing a look at
the store each (at 200 reports/s that was a wake-up for nearly every group commit). A
commit that removes the nearest timer lets it wake for nothing once, find the next, and
sleep again. Timers added by another process are that process's scheduler's to wake
for; `max_sleep` only bounds how long a missed wake-up could go unnoticed.

Due timers are claimed for `claim_seconds`; the claim is durable before the work, and
the work appends through the event store with optimistic concurrency. A crashed
scheduler's claim simply expires. After downtime every overdue timer fires once,
reporting its true due time and the time it was detected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypedDict

from services.dispatch.service_layer.timer_store import TimerStore
from services.dispatch.service_layer.timers import Timer, TimerHandlers
from shared.clock import Clock
from shared.logging import get_logger
from shared.tasks import stop_if_cancelled

log = get_logger(__name__)


class SchedulerTuning(TypedDict, total=False):
    """The scheduler's knobs, for whoever wires one and passes them on."""

    batch_size: int
    """How many due timers one claim takes at the most."""
    claim_seconds: float
    """How long a claim keeps other schedulers off a timer (a crashed firing's retry delay)."""
    max_sleep: float
    """The longest sleep: bounds a wake-up missed for a timer another process wrote."""
    concurrency: int
    """How many work orders fire at once."""


class TimerScheduler:
    """Fires the timers of one timer store as they fall due."""

    def __init__(
        self,
        timers: TimerStore,
        handlers: TimerHandlers,
        clock: Clock,
        *,
        batch_size: int = 200,
        claim_seconds: float = 30.0,
        max_sleep: float = 60.0,
        concurrency: int = 64,
    ) -> None:
        self._timers = timers
        self._handlers = handlers
        self._clock = clock
        self._batch_size = batch_size
        self._claim = timedelta(seconds=claim_seconds)
        self._max_sleep = max_sleep
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._asleep_until: datetime | None = None
        self._rounds = 0
        self._round_ended = asyncio.Condition()
        self._firing = asyncio.Lock()

    @property
    def asleep_until(self) -> datetime | None:
        """When the scheduler looks at the timer store next on its own; None while busy."""
        return self._asleep_until

    @property
    def rounds(self) -> int:
        """How many rounds have ended (each ends with the scheduler going to sleep)."""
        return self._rounds

    async def round_after(self, seen: int) -> datetime:
        """Wait until a round after the `seen`-th has ended; until when the scheduler sleeps.

        What a caller driving the clock by hand waits on between two moves of time,
        instead of sleeping and hoping a round ran meanwhile.
        """
        async with self._round_ended:
            await self._round_ended.wait_for(lambda: self._rounds > seen)
        assert self._asleep_until is not None  # set before the round is counted
        return self._asleep_until

    @property
    def wake_pending(self) -> bool:
        """Whether a commit asked for a look at the timer store before the planned one."""
        return self._wake.is_set()

    def timers_written(self, earliest: datetime) -> None:
        """A commit wrote timers, the first of them due at `earliest`: wake if that is
        sooner than the scheduler sleeps (always while it is between two sleeps)."""
        if self._asleep_until is None or earliest < self._asleep_until:
            self._wake.set()

    async def run(self) -> None:
        """Fire timers as they fall due, until cancelled; errors are logged and retried."""
        while True:
            self._wake.clear()
            self._asleep_until = None
            try:
                due = await self._timers.next_fire_time()
                if due is not None and due <= self._clock.now():
                    await self.fire_due()
                    continue
            except Exception as exc:
                log.warning("sla_scheduler.failed", error=str(exc))
                due = None
            delay = self._max_sleep
            if due is not None:
                delay = min(delay, max((due - self._clock.now()).total_seconds(), 0.0))
            self._asleep_until = self._clock.now() + timedelta(seconds=delay)
            async with self._round_ended:
                self._rounds += 1
                self._round_ended.notify_all()
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        stop_if_cancelled()
        # The clock's own sleep, so a test clock can move time; a commit wakes us early.
        sleeping = asyncio.ensure_future(self._clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeping, woken):
                task.cancel()
            # Not a suppressed `await task`: that would also swallow a cancellation of this
            # task arriving meanwhile (stop() would then wait forever for the scheduler).
            await asyncio.gather(sleeping, woken, return_exceptions=True)

    async def fire_due(self) -> int:
        """Claim and fire every timer due now; return how many timers were handled.

        Calls on one scheduler take turns: a call made while a firing is under way (the
        loop's, and a caller driving the clock by hand) returns once that firing has
        committed, not at once because the timers it would have claimed are taken.
        """
        async with self._firing:
            now = self._clock.now()
            claimed = await self._timers.claim_due(now, self._batch_size, self._claim)
            # Different work orders fire concurrently, so their appends share group
            # commits; the bound keeps a burst after downtime from opening thousands of
            # loads at once.
            slots = asyncio.Semaphore(self._concurrency)
            await asyncio.gather(
                *(
                    self._fire(slots, work_order_id, timers, now)
                    for work_order_id, timers in claimed.items()
                )
            )
            return sum(len(timers) for timers in claimed.values())

    async def _fire(
        self,
        slots: asyncio.Semaphore,
        work_order_id: str,
        timers: Sequence[Timer],
        now: datetime,
    ) -> None:
        async with slots:
            try:
                raised = await self._handlers.fire(work_order_id, timers, now)
            except Exception as exc:  # its claim expires and it is tried again
                log.warning(
                    "sla_scheduler.fire_failed", work_order_id=work_order_id, error=str(exc)
                )
                return
        if raised:
            log.info("sla_scheduler.fired", work_order_id=work_order_id, events=raised)
