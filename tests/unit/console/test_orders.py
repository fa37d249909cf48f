"""How the console names, places and steps through a work order."""

from __future__ import annotations

from services.console.domain.orders import (
    Action,
    ServiceStep,
    Step,
    address,
    next_action,
    order_label,
    other_actions,
    service_steps,
    steps,
)
from services.console.domain.roles import Page, home_of, may_open
from shared.auth import Role

PROJECT = {
    "project": "sunny",
    "name": "阳光花园",
    "time_zone": "Asia/Shanghai",
    "buildings": [{"id": "b1", "name": "1号楼", "households": 600}],
}


def test_an_order_is_called_by_its_number_when_dispatch_gives_one() -> None:
    order = {"id": "0b9c3f4e-5a0c-4d43-9a53-1f0c2b1d7e21"}
    assert order_label(order) == "0b9c3f4e"
    assert order_label({**order, "number": "SG-20261201-0042"}) == "SG-20261201-0042"
    assert order_label({**order, "number": None}) == "0b9c3f4e"


def test_the_address_names_the_project_and_building_as_registered() -> None:
    order = {"project": "sunny", "location": {"building": "b1", "unit": "1-101", "detail": None}}
    assert address(order, PROJECT) == "阳光花园 1号楼 1-101"
    unknown = {"project": "river", "location": {"building": "b7", "detail": "east gate"}}
    assert address(unknown, None) == "river b7 east gate"


def test_steps_are_the_work_orders_events_without_the_clocks_bookkeeping() -> None:
    events = [
        {"type": "workorder.reported.v1", "time": "2026-12-01T02:00:00Z"},
        {"type": "workorder.sla_clock_started.v1", "time": "2026-12-01T02:00:00Z"},
        {"type": "workorder.assigned.v1", "time": "2026-12-01T02:01:00Z"},
        {"type": "workorder.arrived", "time": "2026-12-01T02:02:00Z"},
        {"type": "project.registered.v1", "time": "2026-12-01T02:03:00Z"},
    ]
    assert steps(events) == [
        Step("reported", "2026-12-01T02:00:00Z"),
        Step("assigned", "2026-12-01T02:01:00Z"),
        Step("arrived", "2026-12-01T02:02:00Z"),
    ]


def test_the_technicians_next_step_follows_the_status() -> None:
    assert next_action({"status": "assigned"}) is Action.ARRIVE
    assert next_action({"status": "on_site"}) is Action.START
    assert next_action({"status": "in_progress"}) is Action.COMPLETE
    assert next_action({"status": "paused"}) is Action.RESUME
    assert next_action({"status": "completed"}) is None


def test_each_role_opens_its_own_pages_only() -> None:
    assert home_of(Role.TECHNICIAN) is Page.TECH
    assert home_of(Role.CUSTOMER_SERVICE) is Page.CALLS
    assert home_of(Role.RESIDENT) is None
    assert not may_open(Role.TECHNICIAN, Page.STAFF)
    assert not may_open(Role.TECHNICIAN, Page.DISPATCH)
    assert may_open(Role.SUPERVISOR, Page.STAFF)
    assert not may_open(Role.INTEGRATOR, Page.CALLS)


def test_the_technicians_other_steps_follow_the_status_and_the_appointment() -> None:
    assigned = {"status": "assigned"}
    assert other_actions(assigned) == (
        Action.REPORT_PROGRESS,
        Action.HAND_BACK,
        Action.REQUEST_TRANSFER,
    )
    booked = {**assigned, "appointment_at": "2026-03-02T06:00:00+00:00"}
    assert Action.MISS_APPOINTMENT in other_actions(booked)
    assert Action.PAUSE in other_actions({"status": "in_progress"})
    assert Action.PAUSE not in other_actions({"status": "paused"})
    assert other_actions({"status": "completed"}) == ()


def test_customer_services_steps_follow_the_status_kind_and_role() -> None:
    complaint = {"status": "reported", "kind": "complaint"}
    assert service_steps(complaint, may_rule=False) == (
        ServiceStep.FEEDBACK,
        ServiceStep.NO_VISIT,
        ServiceStep.TRANSFER,
    )
    assert ServiceStep.RULE_COMPLAINT in service_steps(complaint, may_rule=True)
    settled = {**complaint, "no_visit_needed_by": "cs-li"}
    assert ServiceStep.NO_VISIT not in service_steps(settled, may_rule=False)
    # A repair always needs a visit; once completed it is followed up, not fed back.
    repair = {"status": "completed", "kind": "repair"}
    assert service_steps(repair, may_rule=True) == (ServiceStep.FOLLOW_UP, ServiceStep.TRANSFER)
    assert service_steps({"status": "cancelled", "kind": "repair"}, may_rule=False) == ()
