"""The offer-expiry timer as a function of the work order's state, and expiry idempotence."""

from __future__ import annotations

from datetime import timedelta

from services.dispatch.domain.commands import AcceptOffer
from services.dispatch.domain.workorder import evolve
from services.dispatch.service_layer.assignment import (
    calls_for_dispatch,
    expiry_of,
    offer_timer_rows,
)
from services.dispatch.service_layer.timers import OFFER_CLOCK
from shared.events.workorder import OfferExpired

from .builders import CUSTOMER_SERVICE, Story, report
from .test_assignment_offers import ALICE, offered


def test_an_open_offer_has_one_timer_at_its_expiry() -> None:
    story = offered("alice", "bob")

    [row] = offer_timer_rows(story.current, "wo-1")

    assert (row.key, row.clock) == (f"{OFFER_CLOCK}:1", OFFER_CLOCK)
    assert row.fires_at == story.current.offer_expires_at == story.now + timedelta(seconds=60)
    assert row.timer == {"clock": OFFER_CLOCK, "attempt": 1, "work_order_id": "wo-1"}


def test_an_accepted_offer_leaves_no_timer_and_nothing_to_expire() -> None:
    story = offered("alice")
    story.do(AcceptOffer(), ALICE)

    assert offer_timer_rows(story.current, "wo-1") == ()
    assert expiry_of(story.current, 1) == []


def test_an_offer_expires_once_and_a_stale_attempt_raises_nothing() -> None:
    story = offered("alice", attempt=2)

    first = expiry_of(story.current, 2)
    story.state = evolve(story.state, first[0], story.now)

    assert first == [OfferExpired(attempt=2, technicians=("alice",))]
    assert expiry_of(story.current, 2) == []
    assert expiry_of(offered("bob", attempt=3).current, 2) == []


def test_a_report_and_an_expiry_call_for_dispatch_but_an_open_offer_does_not() -> None:
    reported = Story()
    events = reported.do(report(), CUSTOMER_SERVICE)
    story = offered("alice")
    expired = OfferExpired(attempt=1, technicians=("alice",))
    after_expiry = evolve(story.state, expired, story.now)

    assert calls_for_dispatch(reported.current, events)
    assert not calls_for_dispatch(story.current, events)
    assert calls_for_dispatch(after_expiry, [expired])
