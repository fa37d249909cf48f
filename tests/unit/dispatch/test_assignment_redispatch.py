"""After an order loses its person, or never had one and comes back: who is told.

A reopened repair stays with its technician (返修); a complaint settled before anyone was
sent, and reopened, is dispatched afresh; an order settled while offered or queued
leaves the offers and the queue.
"""

from __future__ import annotations

import pytest

from services.dispatch.domain.commands import AcceptOffer, Complete, Reopen
from services.dispatch.domain.workorder import Status, evolve
from services.dispatch.service_layer.assignment import (
    calls_for_dispatch,
    expiry_of,
    offer_timer_rows,
)
from shared.errors import InvalidTransition
from shared.events.workorder import (
    DispatchPending,
    PendingReason,
    WorkOrderKind,
)

from .builders import CUSTOMER_SERVICE, SUPERVISOR, Story, order_in, report
from .test_assignment_offers import ALICE, offered

SETTLED = Complete(summary="explained the noise rules to the neighbour")
BACK = Reopen(reason="the noise is back")


def test_a_complaint_settled_while_offered_ends_the_offers_and_their_timer() -> None:
    story = offered("alice", "bob", kind=WorkOrderKind.COMPLAINT)

    story.do(SETTLED, SUPERVISOR)

    assert story.current.status is Status.COMPLETED
    assert story.current.offered_to == ()
    assert offer_timer_rows(story.current, "wo-1") == ()
    assert expiry_of(story.current, 1) == []
    with pytest.raises(InvalidTransition) as refused:
        story.do(AcceptOffer(), ALICE)
    assert refused.value.code == "no_open_offer"


def test_a_complaint_settled_while_queued_leaves_the_queue() -> None:
    story = Story()
    story.do(report(WorkOrderKind.COMPLAINT), CUSTOMER_SERVICE)
    pending = DispatchPending(reason=PendingReason.NOBODY_ELIGIBLE, attempts=0, escalation="none")
    story.state = evolve(story.state, pending, story.now)

    story.do(SETTLED, SUPERVISOR)

    assert story.current.dispatch_pending is False


def test_a_reopened_complaint_nobody_was_sent_to_is_dispatched_afresh() -> None:
    story = offered("alice", "bob", kind=WorkOrderKind.COMPLAINT)
    story.do(SETTLED, SUPERVISOR)

    events = story.do(BACK, CUSTOMER_SERVICE)

    state = story.current
    assert (state.status, state.assignee) == (Status.REPORTED, None)
    # The earlier offer counts neither as an attempt nor against alice and bob.
    assert (state.offer_attempt, state.tried, state.dispatch_pending) == (0, (), False)
    assert calls_for_dispatch(state, events)


def test_a_reopened_repair_stays_with_its_technician() -> None:
    story = order_in(Status.CLOSED)
    technician = story.current.assignee

    events = story.do(Reopen(reason="leaks again"), CUSTOMER_SERVICE)

    assert technician is not None
    assert (story.current.status, story.current.assignee) == (Status.ASSIGNED, technician)
    assert not calls_for_dispatch(story.current, events)
