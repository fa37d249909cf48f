"""Changing a work order's urgency: when it is allowed, who may, and what it does to the clocks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.dispatch.domain.commands import ChangeUrgency, RecalculateSla
from services.dispatch.domain.sla import PolicyBook, SlaPolicy, default_policy
from services.dispatch.domain.workorder import Actor, Status, WorkOrderState, authorize, decide
from services.dispatch.service_layer.sla import with_sla
from shared.auth import Role
from shared.errors import Forbidden, InvalidInput, InvalidTransition
from shared.events.base import EventData
from shared.events.sla import ClockName, SlaClockRecalculated, SlaClockStarted
from shared.events.workorder import Urgency, UrgencyChanged, WorkOrderKind

from .builders import (
    CUSTOMER_SERVICE,
    DISPATCHER,
    HQ_QUALITY,
    PROJECT_MANAGER,
    RESIDENT,
    SUPERVISOR,
    T0,
    TECHNICIAN,
    order_in,
    report,
)

HOUR = timedelta(hours=1)
URGENT = ChangeUrgency(urgency=Urgency.URGENT, reason="water reaches the flat below")


def with_urgent_feedback() -> SlaPolicy:
    """The defaults, but an urgent complaint gets feedback within 4 hours instead of a day."""
    policy = default_policy()
    clocks = tuple(
        rule.model_copy(update={"urgent_target": 4 * HOUR})
        if rule.name is ClockName.FEEDBACK and rule.kinds == (WorkOrderKind.COMPLAINT,)
        else rule
        for rule in policy.clocks
    )
    return policy.model_copy(update={"clocks": clocks})


def _reported_complaint(
    policy: SlaPolicy,
) -> tuple[list[tuple[EventData, datetime]], WorkOrderState]:
    """A complaint reported at T0 with its clocks started under `policy`."""
    decided = decide(None, report(WorkOrderKind.COMPLAINT), CUSTOMER_SERVICE, T0)
    events, state, _ = with_sla([], None, decided, PolicyBook(policy), "wo-1", "sunny-garden", T0)
    return [(event, T0) for event in events], state


@pytest.mark.parametrize("status", [Status.REPORTED, Status.IN_PROGRESS, Status.PAUSED])
def test_an_open_order_becomes_urgent_and_remembers_what_it_was(status: Status) -> None:
    story = order_in(status)

    events = story.do(URGENT, DISPATCHER)

    assert events == [
        UrgencyChanged(
            from_urgency=Urgency.NORMAL,
            to_urgency=Urgency.URGENT,
            reason="water reaches the flat below",
        )
    ]
    assert story.current.urgency is Urgency.URGENT
    assert story.current.status is status


def test_an_urgent_order_can_be_made_normal_again() -> None:
    story = order_in(Status.ASSIGNED)
    story.do(URGENT)

    story.do(ChangeUrgency(urgency=Urgency.NORMAL, reason="a neighbour shut the valve"))

    assert story.current.urgency is Urgency.NORMAL


def test_changing_to_the_current_urgency_is_refused() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(InvalidInput) as refused:
        story.do(ChangeUrgency(urgency=Urgency.NORMAL, reason="no change"))

    assert refused.value.code == "same_urgency"


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CLOSED, Status.CANCELLED])
def test_an_order_no_longer_open_keeps_its_urgency(status: Status) -> None:
    story = order_in(status)

    with pytest.raises(InvalidTransition) as refused:
        story.do(URGENT)

    assert refused.value.extra["current_status"] == status.value


@pytest.mark.parametrize(
    "actor", [CUSTOMER_SERVICE, DISPATCHER, SUPERVISOR, PROJECT_MANAGER], ids=str
)
def test_staff_who_talk_to_residents_and_managers_change_urgency(actor: Actor) -> None:
    authorize(URGENT, actor, order_in(Status.ASSIGNED).current)


@pytest.mark.parametrize("actor", [TECHNICIAN, RESIDENT, HQ_QUALITY], ids=str)
def test_technicians_residents_and_headquarters_do_not_change_urgency(actor: Actor) -> None:
    with pytest.raises(Forbidden):
        authorize(URGENT, actor, order_in(Status.ASSIGNED).current)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_only_supervisors_and_project_managers_recalculate_the_sla(role: Role) -> None:
    actor = Actor(f"{role.value}-1", role)
    state = order_in(Status.ASSIGNED).current
    if role in (Role.SUPERVISOR, Role.PROJECT_MANAGER):
        authorize(RecalculateSla(), actor, state)
    else:
        with pytest.raises(Forbidden):
            authorize(RecalculateSla(), actor, state)


def test_an_urgency_change_recalculates_running_clocks_keeping_the_elapsed_time() -> None:
    policy = with_urgent_feedback()
    history, state = _reported_complaint(policy)
    at = T0 + 2 * HOUR
    decided = decide(state, URGENT, CUSTOMER_SERVICE, at)

    events, after, timers = with_sla(
        history, state, decided, PolicyBook(policy), "wo-1", "sunny-garden", at
    )

    assert isinstance(events[0], UrgencyChanged)
    [moved] = [e for e in events if isinstance(e, SlaClockRecalculated)]
    assert (moved.clock, moved.reason) == (ClockName.FEEDBACK, "urgency_changed")
    assert (moved.previous_due_at, moved.due_at) == (T0 + 24 * HOUR, T0 + 4 * HOUR)
    assert (moved.elapsed_seconds, moved.remaining_seconds) == (7200, 7200)
    assert after.urgency is Urgency.URGENT
    # The durable timers follow the new due time in the same append.
    [breach] = [
        row
        for row in timers
        if row.clock == ClockName.FEEDBACK.value and row.timer["kind"] == "breach"
    ]
    assert breach.due_at == T0 + 4 * HOUR


def test_an_urgency_change_without_an_urgent_target_moves_no_clock() -> None:
    # The default policy has no urgent override: the promises stay as they were.
    policy = default_policy()
    history, state = _reported_complaint(policy)
    at = T0 + timedelta(minutes=1)  # before the arrival breach, which would be caught up
    decided = decide(state, URGENT, CUSTOMER_SERVICE, at)

    events, _, _ = with_sla(history, state, decided, PolicyBook(policy), "wo-1", "sunny-garden", at)

    assert [type(e) for e in events] == [UrgencyChanged]
    assert any(isinstance(e, SlaClockStarted) for e, _ in history)
