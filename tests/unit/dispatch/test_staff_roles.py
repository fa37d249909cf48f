"""Only technicians are offered work: a project manager in the directory never is."""

from __future__ import annotations

from services.dispatch.domain.assignment import (
    DispatchFacts,
    Roster,
    StaffRole,
    Workload,
    next_dispatch_step,
    rank,
    why_not,
)
from shared.events.workorder import DispatchPending, Offered, PendingReason

from .test_assignment_rules import NOW, ORDER, RULE, member

# Everything a technician would need to be offered the order: trade, place, on duty.
MANAGER = member("pm-zhou", role=StaffRole.PROJECT_MANAGER)


def test_a_project_manager_with_the_trade_on_duty_is_not_eligible() -> None:
    assert why_not(MANAGER, RULE, ORDER, Workload(), None, frozenset()) == "not a technician"


def test_no_staff_role_but_technician_is_ranked_for_manual_suggestions() -> None:
    staff = [member(f"x-{role.value}", role=role) for role in StaffRole]

    ranked, refused = rank(staff, RULE, ORDER, {}, None, (), NOW)

    assert [c.staff_id for c in ranked] == ["x-technician"]
    assert refused == {
        f"x-{role.value}": "not a technician"
        for role in StaffRole
        if role is not StaffRole.TECHNICIAN
    }


def test_an_order_only_a_project_manager_could_take_goes_to_the_pending_queue() -> None:
    facts = DispatchFacts(rule=RULE, staff=[MANAGER], roster=Roster(), workloads={})

    step = next_dispatch_step(facts, ORDER, 0, (), NOW)

    assert isinstance(step, DispatchPending)
    assert step.reason is PendingReason.NOBODY_ELIGIBLE
    # Nor is the manager the pending order's escalation: that is the supervisors'.
    assert step.escalated_to == ()


def test_a_technician_beside_the_project_manager_gets_the_offer() -> None:
    facts = DispatchFacts(
        rule=RULE, staff=[MANAGER, member("tech-wang")], roster=Roster(), workloads={}
    )

    step = next_dispatch_step(facts, ORDER, 0, (), NOW)

    assert isinstance(step, Offered)
    assert [o.technician for o in step.offers] == ["tech-wang"]
