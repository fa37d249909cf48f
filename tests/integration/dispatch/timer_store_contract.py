"""The contract of a `TimerStore`, written once for every implementation.

It talks only through the port: timers go in with `replace` (or `replace_all`, the
rebuild) and come out through `claim_due` and `next_fire_time`. A suite subclasses
`TimerStoreContract` with two fixtures: `timers`, an empty store, and `rival`, a second
handle on the same storage (another scheduler's: its own connections where it has any).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from services.dispatch.domain import sla
from services.dispatch.service_layer.timer_store import PendingTimers, TimerStore
from services.dispatch.service_layer.timers import ClockTimer, OfferExpiry, Timer
from shared.events.sla import ClockName

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLAIM = timedelta(seconds=30)
TENANT, PROJECT = "acme", "sunny"


def warning(work_order_id: str, at: datetime, threshold: float = 0.5) -> ClockTimer:
    """An arrival clock's warning at `at`."""
    timer = sla.Timer(
        ClockName.ARRIVAL,
        1,
        sla.TimerKind.WARNING,
        at,
        threshold=threshold,
        work_order_id=work_order_id,
    )
    return ClockTimer(work_order_id, timer)


def breach(work_order_id: str, due: datetime) -> ClockTimer:
    """A resolution clock's breach, due at `due` (it fires just after)."""
    timer = sla.Timer(
        ClockName.RESOLUTION, 2, sla.TimerKind.BREACH, due, work_order_id=work_order_id
    )
    return ClockTimer(work_order_id, timer)


async def keep(store: TimerStore, *timers: Timer) -> None:
    """Make `timers` the pending timers of their work orders (each order's set at once)."""
    orders: dict[str, list[Timer]] = {}
    for timer in timers:
        orders.setdefault(timer.work_order_id, []).append(timer)
    for work_order_id, mine in orders.items():
        await store.replace(work_order_id, TENANT, PROJECT, [timer.row() for timer in mine])


def flat(claimed: Mapping[str, Sequence[Timer]]) -> set[Timer]:
    """Every claimed timer, after checking each is listed under its own work order."""
    for work_order_id, timers in claimed.items():
        assert timers, "a work order is listed only with timers"
        assert all(timer.work_order_id == work_order_id for timer in timers)
    return {timer for timers in claimed.values() for timer in timers}


class TimerStoreContract:
    """What every timer store promises. Subclasses give the `timers` and `rival` fixtures."""

    async def test_due_timers_come_back_typed_per_work_order(self, timers: TimerStore) -> None:
        first = warning("wo-1", T0)
        offer = OfferExpiry("wo-1", 2, T0 + timedelta(minutes=1))
        other = breach("wo-2", T0 + timedelta(seconds=30))
        await keep(timers, first, offer, other)

        claimed = await timers.claim_due(T0 + timedelta(minutes=5), 100, CLAIM)

        assert set(claimed) == {"wo-1", "wo-2"}
        assert list(claimed["wo-1"]) == [first, offer]  # earliest first
        assert list(claimed["wo-2"]) == [other]

    async def test_a_timer_not_yet_due_is_not_claimed(self, timers: TimerStore) -> None:
        soon = warning("wo-1", T0 + timedelta(minutes=1))
        await keep(timers, soon)

        assert await timers.claim_due(T0, 100, CLAIM) == {}
        assert flat(await timers.claim_due(soon.fires_at, 100, CLAIM)) == {soon}

    async def test_a_breach_is_claimed_only_after_its_due_instant(self, timers: TimerStore) -> None:
        late = breach("wo-1", T0)
        await keep(timers, late)

        assert await timers.claim_due(T0, 100, CLAIM) == {}
        assert flat(await timers.claim_due(late.fires_at, 100, CLAIM)) == {late}

    async def test_a_claimed_timer_is_not_claimed_again_within_its_window(
        self, timers: TimerStore, rival: TimerStore
    ) -> None:
        due = warning("wo-1", T0)
        await keep(timers, due)

        assert flat(await timers.claim_due(T0, 100, CLAIM)) == {due}
        assert await timers.claim_due(T0, 100, CLAIM) == {}
        assert await rival.claim_due(T0 + CLAIM - timedelta(seconds=1), 100, CLAIM) == {}

    async def test_a_claim_that_lapsed_is_claimed_again(
        self, timers: TimerStore, rival: TimerStore
    ) -> None:
        """The claimer crashed before its work replaced the timer: another takes it up."""
        due = warning("wo-1", T0)
        await keep(timers, due)
        await timers.claim_due(T0, 100, CLAIM)

        again = await rival.claim_due(T0 + CLAIM + timedelta(seconds=1), 100, CLAIM)

        assert flat(again) == {due}

    async def test_a_claim_takes_at_most_its_limit_earliest_first(self, timers: TimerStore) -> None:
        waiting = [warning(f"wo-{n}", T0 + timedelta(minutes=n)) for n in range(5)]
        await keep(timers, *reversed(waiting))

        first = await timers.claim_due(T0 + timedelta(hours=1), 2, CLAIM)
        rest = await timers.claim_due(T0 + timedelta(hours=1), 10, CLAIM)

        assert flat(first) == set(waiting[:2])
        assert flat(rest) == set(waiting[2:])

    async def test_replace_replaces_a_work_orders_timers_and_no_others(
        self, timers: TimerStore
    ) -> None:
        await keep(timers, warning("wo-1", T0), warning("wo-1", T0, 0.8), warning("wo-2", T0))
        later = breach("wo-1", T0 + timedelta(minutes=1))
        await keep(timers, later)

        claimed = await timers.claim_due(T0 + timedelta(hours=1), 100, CLAIM)

        assert flat(claimed) == {later, warning("wo-2", T0)}

    async def test_replacing_with_no_timers_clears_the_work_orders(
        self, timers: TimerStore
    ) -> None:
        await keep(timers, warning("wo-1", T0), warning("wo-2", T0 + timedelta(minutes=1)))

        await timers.replace("wo-1", TENANT, PROJECT, [])

        assert await timers.next_fire_time() == T0 + timedelta(minutes=1)
        assert set(await timers.claim_due(T0 + timedelta(hours=1), 100, CLAIM)) == {"wo-2"}

    async def test_replacing_a_claimed_timer_makes_it_claimable_at_once(
        self, timers: TimerStore
    ) -> None:
        """How firing ends a claim: the work replaces the order's timers with what is pending."""
        due = warning("wo-1", T0)
        await keep(timers, due)
        await timers.claim_due(T0, 100, CLAIM)

        await keep(timers, due)

        assert flat(await timers.claim_due(T0, 100, CLAIM)) == {due}

    async def test_next_fire_time_is_the_earliest_unclaimed_timer(self, timers: TimerStore) -> None:
        assert await timers.next_fire_time() is None
        first = breach("wo-1", T0)
        await keep(timers, first, warning("wo-2", T0 + timedelta(minutes=10)))

        assert await timers.next_fire_time() == first.fires_at

    async def test_a_claim_ending_before_the_next_timer_is_the_next_fire_time(
        self, timers: TimerStore
    ) -> None:
        """Its timer may be claimed again then, if the claimer never replaced it."""
        await keep(timers, warning("wo-1", T0), warning("wo-2", T0 + timedelta(minutes=10)))

        await timers.claim_due(T0, 100, CLAIM)
        assert await timers.next_fire_time() == T0 + CLAIM

        await timers.replace("wo-1", TENANT, PROJECT, [])
        assert await timers.next_fire_time() == T0 + timedelta(minutes=10)

    async def test_replace_all_keeps_only_the_timers_given(self, timers: TimerStore) -> None:
        await keep(timers, warning("wo-1", T0), warning("wo-2", T0))
        rebuilt = [warning("wo-3", T0), OfferExpiry("wo-3", 1, T0 + timedelta(minutes=2))]

        count = await timers.replace_all(
            [PendingTimers("wo-3", TENANT, PROJECT, tuple(t.row() for t in rebuilt))]
        )

        assert count == 2
        assert flat(await timers.claim_due(T0 + timedelta(hours=1), 100, CLAIM)) == set(rebuilt)
        assert await timers.replace_all([]) == 0
        assert await timers.next_fire_time() is None

    async def test_two_claimers_at_once_take_different_timers(
        self, timers: TimerStore, rival: TimerStore
    ) -> None:
        waiting = [
            warning(f"wo-{n}", T0 + timedelta(seconds=n), threshold)
            for n in range(12)
            for threshold in (0.5, 0.8)
        ]
        now = T0 + timedelta(minutes=1)

        # Several races: one alone may well see the two claims take turns.
        for _ in range(8):
            await keep(timers, *waiting)  # unclaimed again
            mine, theirs = await asyncio.gather(
                timers.claim_due(now, 16, CLAIM), rival.claim_due(now, 16, CLAIM)
            )

            assert not flat(mine) & flat(theirs)
            assert flat(mine) | flat(theirs) == set(waiting)
