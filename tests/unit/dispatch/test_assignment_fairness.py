"""Fairness: equally eligible technicians get the same share of 10,000 simulated orders.

The stated bounds (docs/assignment.md):
- when jobs take the same time, the counts of assignments differ by at most 1: least open
  work then longest idle is a strict round-robin;
- when job durations are random (1 to 30 minutes), whoever happens to finish sooner is
  free sooner and rightly gets more, yet the counts stay within 5% of the fair share
  (50 of 1,000 orders each) of one another.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from services.dispatch.domain.assignment import (
    Availability,
    DispatchFacts,
    DispatchRule,
    OrderFacts,
    Roster,
    StaffMember,
    StaffRecord,
    Workload,
    next_dispatch_step,
)
from shared.events.workorder import DispatchMode, Offered, Urgency

ORDERS = 10_000
TECHNICIANS = 10
SPREAD_BOUND = 50
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def technician(n: int) -> StaffMember:
    record = StaffRecord(
        name=f"tech {n}",
        team="maintenance",
        trades=frozenset({"plumbing"}),
        projects=frozenset({"sunny"}),
    )
    return StaffMember(id=f"t{n:02d}", record=record, availability=Availability.ON_DUTY)


def simulate(seed: int, fixed_duration: bool = False) -> Counter[str]:
    rng = random.Random(seed)
    staff = [technician(n) for n in range(TECHNICIANS)]
    rule = DispatchRule(mode=DispatchMode.AUTO, trade="plumbing", load_limit=100)
    open_orders: Counter[str] = Counter()
    last_assigned: dict[str, datetime] = {}
    finishing: list[tuple[datetime, str]] = []
    assigned: Counter[str] = Counter()
    now = START
    for n in range(ORDERS):
        now += timedelta(seconds=rng.expovariate(1 / 30))
        while finishing and finishing[0][0] <= now:
            _, done_by = heapq.heappop(finishing)
            open_orders[done_by] -= 1
        workloads = {m.id: Workload(open_orders[m.id], last_assigned.get(m.id)) for m in staff}
        facts = DispatchFacts(rule, staff, Roster(), workloads)
        order = OrderFacts("sunny", "b1", Urgency.NORMAL, rotation_key=rng.getrandbits(64) + n)
        step = next_dispatch_step(facts, order, 0, (), now)
        assert isinstance(step, Offered)
        chosen = step.offers[0].technician
        assigned[chosen] += 1
        open_orders[chosen] += 1
        last_assigned[chosen] = now
        duration = timedelta(seconds=600 if fixed_duration else rng.uniform(60, 1_800))
        heapq.heappush(finishing, (now + duration, chosen))
    return assigned


def test_ten_thousand_orders_spread_evenly_over_equally_eligible_technicians() -> None:
    for seed in (1, 2, 3, 4, 5):
        assigned = simulate(seed)

        assert sum(assigned.values()) == ORDERS
        assert len(assigned) == TECHNICIANS
        assert max(assigned.values()) - min(assigned.values()) <= SPREAD_BOUND, assigned


def test_with_equal_jobs_assignments_differ_by_at_most_one() -> None:
    assigned = simulate(7, fixed_duration=True)

    assert sum(assigned.values()) == ORDERS
    assert max(assigned.values()) - min(assigned.values()) <= 1, assigned
