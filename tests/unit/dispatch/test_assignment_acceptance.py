"""The load limit at acceptance: which limit holds, and how a refusal reads."""

from __future__ import annotations

from services.dispatch.domain.assignment import (
    DispatchRule,
    acceptance_limit,
    load_limit_refusal,
    over_load_limit,
)
from shared.events.workorder import DispatchMode, Urgency
from tests.unit.dispatch.test_assignment_rules import member

GRAB = DispatchRule(mode=DispatchMode.GRAB, trade="plumbing", load_limit=3)


def test_the_persons_own_limit_wins_over_the_rules() -> None:
    assert acceptance_limit(member("wang", max_open=1), GRAB, Urgency.NORMAL) == 1
    assert acceptance_limit(member("wang"), GRAB, Urgency.NORMAL) == 3


def test_urgent_orders_have_no_limit_at_acceptance() -> None:
    assert acceptance_limit(member("wang", max_open=1), GRAB, Urgency.URGENT) is None


def test_without_a_rule_only_the_persons_own_limit_holds() -> None:
    assert acceptance_limit(member("wang", max_open=2), None, Urgency.NORMAL) == 2
    assert acceptance_limit(member("wang"), None, Urgency.NORMAL) is None


def test_someone_the_project_no_longer_lists_keeps_the_rules_limit() -> None:
    assert acceptance_limit(None, GRAB, Urgency.NORMAL) == 3
    assert acceptance_limit(None, None, Urgency.NORMAL) is None


def test_the_refusal_names_the_limit_and_the_open_orders() -> None:
    refusal = over_load_limit("wang", ["wo-1", "wo-2"], 2)

    assert refusal.status == 409
    assert refusal.code == "over_load_limit"
    assert "load limit is 2" in refusal.message
    assert "2 open work orders (wo-1, wo-2)" in refusal.message
    assert refusal.extra == {
        "technician": "wang",
        "limit": 2,
        "open_orders": 2,
        "open_work_orders": ["wo-1", "wo-2"],
    }


def test_a_long_list_of_open_orders_is_shortened_in_the_message() -> None:
    ids = [f"wo-{n:02d}" for n in range(12)]

    refusal = over_load_limit("wang", ids, 12)

    assert "wo-09 and 2 more" in refusal.message
    assert refusal.extra["open_work_orders"] == ids


def test_an_acceptance_is_allowed_while_the_other_open_orders_are_under_the_limit() -> None:
    assert load_limit_refusal("wang", {"wo-1"}, "wo-9", 2) is None
    # The order being accepted is not among the others, even when already counted.
    assert load_limit_refusal("wang", {"wo-1", "wo-9"}, "wo-9", 2) is None


def test_an_acceptance_that_would_exceed_the_limit_is_refused_naming_the_others() -> None:
    refusal = load_limit_refusal("wang", {"wo-2", "wo-1", "wo-9"}, "wo-9", 2)

    assert refusal is not None and refusal.code == "over_load_limit"
    assert refusal.extra["open_work_orders"] == ["wo-1", "wo-2"]
    assert refusal.extra["limit"] == 2
