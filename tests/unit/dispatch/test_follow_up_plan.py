"""Follow-up visits owed: the sampler reaches the policy's share of every period's repairs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dispatch.domain.sla import (
    CompletedRepair,
    OwedBecause,
    default_policy,
    follow_up_plan,
    plan_for,
    repair_follow_up_rule,
    required_visits,
)

MONTH = datetime(2026, 9, 1, tzinfo=UTC)
POLICY = default_policy()


def _repairs(count: int, **fields: bool) -> list[CompletedRepair]:
    return [
        CompletedRepair(
            str(uuid.uuid4()),
            MONTH + timedelta(hours=i),
            fields.get("visited", False),
            fields.get("visitable", True),
        )
        for i in range(count)
    ]


@settings(max_examples=200, deadline=None)
@given(periods=st.lists(st.integers(1, 150), min_size=1, max_size=12))
def test_follow_up_sampler_reaches_target_share_each_period(periods: list[int]) -> None:
    # Each period's completed repairs; customer service makes every visit the plan owes.
    for completed in periods:
        plan = plan_for(POLICY, "sunny", _repairs(completed))
        visits = plan.visited + len(plan.owed)
        assert visits / completed >= 0.3, (completed, visits)
        assert plan.shortfall == 0


def test_the_clock_sample_alone_misses_the_target_in_many_periods() -> None:
    # What the top-up is for: the hash picks 30 % on average, not in each period.
    rule = repair_follow_up_rule(POLICY, "sunny")
    assert rule is not None and rule.sampling_rate == 0.3
    short = 0
    for _ in range(200):
        ids = [str(uuid.uuid4()) for _ in range(40)]
        short += sum(map(rule.samples, ids)) < required_visits(40, 0.3)
    assert short > 40


def test_the_clock_sample_is_owed_and_top_ups_only_fill_the_gap() -> None:
    repairs = _repairs(10)
    picked = {repairs[7].work_order_id}
    plan = follow_up_plan(repairs, 0.3, picked.__contains__)
    assert plan.required == 3
    assert [(v.work_order_id, v.because) for v in plan.owed] == [
        (repairs[0].work_order_id, OwedBecause.TOP_UP),
        (repairs[1].work_order_id, OwedBecause.TOP_UP),
        (repairs[7].work_order_id, OwedBecause.SAMPLED),
    ]


def test_visits_made_reduce_what_is_owed() -> None:
    repairs = _repairs(2, visited=True) + _repairs(8)
    plan = follow_up_plan(repairs, 0.3, lambda _: False)
    assert (plan.visited, len(plan.owed)) == (2, 1)
    assert plan.owed[0].work_order_id == repairs[2].work_order_id


def test_a_repair_that_cannot_be_visited_is_never_owed_and_the_gap_is_reported() -> None:
    plan = follow_up_plan(_repairs(10, visitable=False), 0.3, lambda _: True)
    assert plan.owed == ()
    assert plan.shortfall == 3


def test_a_later_completion_never_displaces_a_top_up() -> None:
    repairs = _repairs(10)
    before = follow_up_plan(repairs, 0.3, lambda _: False).owed
    later = CompletedRepair("wo-later", MONTH + timedelta(days=20), False, True)
    after = follow_up_plan([*repairs, later], 0.3, lambda _: False).owed
    assert after[: len(before)] == before


def test_30_percent_of_10_is_3_visits_despite_floating_point() -> None:
    assert required_visits(10, 0.3) == 3
    assert required_visits(11, 0.3) == 4
    assert required_visits(0, 0.3) == 0
