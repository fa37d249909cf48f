"""Answering an offer: accept, decline, a withdrawn offer, and the state the offers leave."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dispatch.domain.commands import AcceptOffer, DeclineOffer
from services.dispatch.domain.workorder import Actor, Status, decide, evolve
from shared.auth import Role
from shared.errors import Forbidden, InvalidTransition
from shared.events.workorder import (
    Assigned,
    AssignmentAccepted,
    AssignmentDeclined,
    DispatchMode,
    DispatchPending,
    Offered,
    OfferExpired,
    OfferReasons,
    PendingReason,
    WorkOrderKind,
)

from .builders import CUSTOMER_SERVICE, Story, report

ALICE = Actor("alice", Role.TECHNICIAN)
BOB = Actor("bob", Role.TECHNICIAN)
CAROL = Actor("carol", Role.TECHNICIAN)


def offered(*names: str, attempt: int = 1, kind: WorkOrderKind = WorkOrderKind.REPAIR) -> Story:
    story = Story()
    story.do(report(kind), CUSTOMER_SERVICE)
    offer = Offered(
        mode=DispatchMode.GRAB if len(names) > 1 else DispatchMode.AUTO,
        attempt=attempt,
        trade="plumbing",
        expires_at=story.now + timedelta(seconds=60),
        offers=tuple(
            OfferReasons(technician=n, rank=i, open_orders=0, rotation=i - 1)
            for i, n in enumerate(names, start=1)
        ),
    )
    story.state = evolve(story.state, offer, story.now)
    return story


def test_the_first_acceptance_assigns_and_withdraws_the_other_offers() -> None:
    story = offered("alice", "bob", "carol")

    events = story.do(AcceptOffer(), BOB)

    assert events == [
        AssignmentAccepted(technician="bob", attempt=1, withdrawn=("alice", "carol")),
        Assigned(assignee="bob"),
    ]
    assert story.current.status is Status.ASSIGNED
    assert story.current.offered_to == ()


def test_a_later_acceptance_is_refused_as_taken() -> None:
    story = offered("alice", "bob")
    story.do(AcceptOffer(), ALICE)

    with pytest.raises(InvalidTransition) as refused:
        story.do(AcceptOffer(), BOB)

    assert refused.value.code == "offer_taken"
    assert "someone else" in str(refused.value)


def test_a_technician_never_offered_may_not_accept() -> None:
    story = offered("alice")

    with pytest.raises(Forbidden) as refused:
        story.do(AcceptOffer(), CAROL)

    assert refused.value.code == "not_your_work_order"


def test_a_decline_leaves_the_other_offers_open() -> None:
    story = offered("alice", "bob")

    events = story.do(DeclineOffer(reason="at another job"), ALICE)

    assert events == [AssignmentDeclined(technician="alice", attempt=1, reason="at another job")]
    assert story.current.offered_to == ("bob",)
    assert story.current.offer_expires_at is not None


def test_after_an_expired_offer_nobody_may_accept_it() -> None:
    story = offered("alice")
    story.state = evolve(story.state, OfferExpired(attempt=1, technicians=("alice",)), story.now)

    with pytest.raises(InvalidTransition) as refused:
        decide(story.current, AcceptOffer(), ALICE, story.now)

    assert refused.value.code == "no_open_offer"
    assert story.current.tried == ("alice",)


def test_the_pending_queue_is_left_by_a_dispatchers_assignment() -> None:
    story = offered("alice")
    pending = DispatchPending(
        reason=PendingReason.ATTEMPTS_EXHAUSTED, attempts=1, escalation="none"
    )
    story.state = evolve(story.state, pending, story.now)
    assert story.current.dispatch_pending

    story.state = evolve(story.state, Assigned(assignee="dave"), story.now)

    assert not story.current.dispatch_pending
    assert story.current.assignee == "dave"
