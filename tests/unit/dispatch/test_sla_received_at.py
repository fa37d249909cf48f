"""Clocks run from when the request came in, not from when customer service finished typing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dispatch.domain.sla import default_policy
from services.dispatch.domain.workorder import decide
from shared.errors import InvalidInput
from shared.events.sla import ClockName, SlaClockBreached, SlaClockStarted
from shared.events.workorder import WorkOrderReported

from .builders import CUSTOMER_SERVICE
from .sla_story import MONDAY_9AM, SlaStory, only, reported

MINUTE = timedelta(minutes=1)


def test_clocks_run_from_received_at() -> None:
    story = SlaStory()
    received = MONDAY_9AM - 2 * MINUTE

    events = story.do(reported().model_copy(update={"received_at": received}), CUSTOMER_SERVICE)

    [started] = only(events, SlaClockStarted, ClockName.ARRIVAL)
    assert started.started_at == received
    assert started.due_at == received + 3 * MINUTE
    assert (started.elapsed_seconds, started.remaining_seconds) == (120, 60)
    assert story.at(ClockName.ARRIVAL).started_at == received
    assert story.current.received_at == received
    [report] = [e for e, _ in story.log if isinstance(e, WorkOrderReported)]
    assert report.received_at_entered_by == CUSTOMER_SERVICE.subject


def test_report_entered_after_its_arrival_deadline_is_breached_at_once() -> None:
    story = SlaStory()
    received = MONDAY_9AM - 5 * MINUTE

    story.do(reported().model_copy(update={"received_at": received}), CUSTOMER_SERVICE)
    fired = story.wait(timedelta(0))

    [breach] = only(fired, SlaClockBreached, ClockName.ARRIVAL)
    assert breach.due_at == received + 3 * MINUTE


def test_report_without_received_at_runs_from_when_it_is_recorded() -> None:
    story = SlaStory()

    [started] = only(story.do(reported()), SlaClockStarted, ClockName.ARRIVAL)

    assert started.started_at is None
    assert started.due_at == MONDAY_9AM + 3 * MINUTE
    assert story.current.received_at == MONDAY_9AM


def test_received_at_in_the_future_is_refused() -> None:
    command = reported().model_copy(update={"received_at": MONDAY_9AM + MINUTE})

    with pytest.raises(InvalidInput) as refused:
        decide(None, command, CUSTOMER_SERVICE, MONDAY_9AM)

    assert refused.value.code == "received_in_future"


def test_received_at_further_back_than_the_policy_allows_is_refused() -> None:
    policy = default_policy().model_copy(update={"received_at_max_age": timedelta(hours=1)})

    policy.check_received_at(MONDAY_9AM - timedelta(hours=1), MONDAY_9AM)
    with pytest.raises(InvalidInput) as refused:
        policy.check_received_at(MONDAY_9AM - timedelta(hours=1, seconds=1), MONDAY_9AM)

    assert refused.value.code == "received_too_long_ago"
