"""退单 and 转单: a technician gives assigned work back to dispatch, with a reason."""

from __future__ import annotations

import pytest

from services.dispatch.domain.assignment import DispatchFacts, Roster, next_dispatch_step
from services.dispatch.domain.commands import Assign, HandBack, RequestTransfer
from services.dispatch.domain.workorder import Status
from services.dispatch.service_layer.assignment import calls_for_dispatch
from shared.errors import Forbidden, InvalidTransition
from shared.events.workorder import AssignmentReturned, Offered, ReturnKind

from .builders import DISPATCHER, OTHER_TECHNICIAN, SUPERVISOR, TECHNICIAN, order_in
from .test_assignment_rules import NOW, ORDER, RULE, member


def test_technician_can_hand_back_an_order() -> None:
    story = order_in(Status.ASSIGNED)

    [returned] = story.do(HandBack(reason="hurt my back"), TECHNICIAN)

    assert returned == AssignmentReturned(
        technician="tech-1", kind=ReturnKind.HAND_BACK, reason="hurt my back"
    )
    state = story.current
    assert (state.status, state.assignee, state.assigned_at) == (Status.REPORTED, None, None)
    assert calls_for_dispatch(state, [returned])


def test_transfer_request_goes_back_to_dispatch_without_the_requester() -> None:
    story = order_in(Status.IN_PROGRESS)

    [returned] = story.do(RequestTransfer(reason="needs an electrician"), TECHNICIAN)

    assert isinstance(returned, AssignmentReturned) and returned.kind is ReturnKind.TRANSFER
    state = story.current
    assert state.status is Status.REPORTED and "tech-1" in state.tried
    facts = DispatchFacts(
        rule=RULE, staff=[member("tech-1"), member("tech-2")], roster=Roster(), workloads={}
    )
    step = next_dispatch_step(facts, ORDER, state.offer_attempt, state.tried, NOW)
    assert isinstance(step, Offered)
    assert [o.technician for o in step.offers] == ["tech-2"]


def test_a_returned_order_can_be_assigned_again() -> None:
    story = order_in(Status.ASSIGNED)
    story.do(HandBack(reason="hurt my back"), TECHNICIAN)

    story.do(Assign(assignee="tech-2"), DISPATCHER)

    assert (story.current.status, story.current.assignee) == (Status.ASSIGNED, "tech-2")


@pytest.mark.parametrize("actor", [OTHER_TECHNICIAN, SUPERVISOR, DISPATCHER], ids=str)
def test_only_the_assigned_technician_may_hand_back(actor: object) -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(Forbidden):
        story.do(HandBack(reason="not mine"), actor)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [Status.ON_SITE, Status.IN_PROGRESS, Status.PAUSED], ids=str)
def test_a_technician_at_work_may_ask_for_a_transfer(status: Status) -> None:
    story = order_in(status)

    [returned] = story.do(RequestTransfer(reason="needs an electrician"), TECHNICIAN)

    assert isinstance(returned, AssignmentReturned)
    assert (story.current.status, story.current.pause_reason) == (Status.REPORTED, None)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CLOSED], ids=str)
def test_finished_work_cannot_be_handed_back(status: Status) -> None:
    story = order_in(status)

    with pytest.raises(InvalidTransition):
        story.do(HandBack(reason="too late"), TECHNICIAN)
