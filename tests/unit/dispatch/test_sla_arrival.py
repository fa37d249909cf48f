"""The three-minute arrival promise (三分钟服务承诺) as a clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dispatch.domain.commands import (
    AgreeArrivalDelay,
    Arrive,
    Assign,
    Complete,
    MissAppointment,
    RecordNoVisitNeeded,
    ScheduleAppointment,
)
from services.dispatch.domain.sla import DEFAULT_APPOINTMENT_GRACE, default_policy
from services.dispatch.domain.workorder import Status
from shared.errors import InvalidTransition
from shared.events.sla import (
    ClockName,
    SlaClockBreached,
    SlaClockCancelled,
    SlaClockMet,
    SlaClockPaused,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
)
from shared.events.workorder import WorkOrderKind

from .builders import CUSTOMER_SERVICE as CS
from .sla_story import MONDAY_9AM, SlaStory, only, reported

MINUTE = timedelta(minutes=1)


def reported_and_assigned(kind: WorkOrderKind = WorkOrderKind.REPAIR) -> SlaStory:
    story = SlaStory()
    story.do(reported(kind))
    story.do(Assign(assignee="tech-1"))
    return story


def test_a_repair_report_starts_the_arrival_clock_of_three_minutes() -> None:
    story = SlaStory()

    events = story.do(reported())

    [started] = only(events, SlaClockStarted, ClockName.ARRIVAL)
    assert started.cycle == 1
    assert started.due_at == MONDAY_9AM + 3 * MINUTE
    assert started.target_seconds == 180
    assert started.calendar == "24x7"
    assert started.policy_version == 1
    assert (started.elapsed_seconds, started.remaining_seconds) == (0, 180)


def test_complaints_have_an_arrival_clock_and_suggestions_do_not() -> None:
    complaint, suggestion = SlaStory(), SlaStory()

    complaint.do(reported(WorkOrderKind.COMPLAINT))
    suggestion.do(reported(WorkOrderKind.SUGGESTION))

    assert ClockName.ARRIVAL in complaint.sla.clocks
    assert ClockName.ARRIVAL not in suggestion.sla.clocks


def test_arrival_is_breached_at_exactly_three_minutes() -> None:
    story = reported_and_assigned()

    fired = story.wait(10 * MINUTE)

    [breach] = only(fired, SlaClockBreached, ClockName.ARRIVAL)
    assert breach.due_at == MONDAY_9AM + 3 * MINUTE
    # A breach is the first instant after the due time: one microsecond later.
    assert breach.detected_at == MONDAY_9AM + 3 * MINUTE + timedelta(microseconds=1)
    assert (breach.elapsed_seconds, breach.remaining_seconds) == (180, 0)
    assert story.at(ClockName.ARRIVAL).breached_at == MONDAY_9AM + 3 * MINUTE


def test_arrival_before_three_minutes_is_met_on_time() -> None:
    story = reported_and_assigned()
    story.wait(1 * MINUTE)

    [met] = only(story.do(Arrive()), SlaClockMet)

    assert met.clock is ClockName.ARRIVAL
    assert met.on_time and not met.missed_with_consent
    assert met.elapsed_seconds == 60
    assert not only(story.wait(timedelta(hours=1)), SlaClockBreached)


def test_arrival_at_the_due_instant_itself_is_on_time() -> None:
    story = SlaStory()
    story.do(reported())
    story.do(Assign(assignee="tech-1"))
    story.wait(3 * MINUTE)  # exactly the due time; the breach could only come after it

    [met] = only(story.do(Arrive()), SlaClockMet)

    assert met.on_time
    assert not only(story.sla_events(), SlaClockBreached)


def test_arrival_after_the_breach_is_met_late() -> None:
    story = reported_and_assigned()
    story.wait(5 * MINUTE)

    [met] = only(story.do(Arrive()), SlaClockMet)

    assert not met.on_time and not met.missed_with_consent
    assert met.remaining_seconds == -120


def test_agreed_delay_moves_the_target_and_marks_the_promise_missed_with_consent() -> None:
    story = reported_and_assigned()
    story.wait(2 * MINUTE)
    agreed = story.now + 30 * MINUTE

    [moved] = story.do(AgreeArrivalDelay(agreed_arrival_at=agreed, reason="on another job"))
    story.wait(20 * MINUTE)  # well past the original three minutes
    [met] = only(story.do(Arrive()), SlaClockMet)

    assert isinstance(moved, SlaClockRecalculated)
    assert moved.reason == "arrival_delay_agreed" and moved.with_consent
    assert moved.previous_due_at == MONDAY_9AM + 3 * MINUTE
    assert moved.due_at == agreed
    assert moved.target_seconds == 32 * 60  # two minutes gone plus thirty agreed
    assert met.on_time and met.missed_with_consent
    assert not only(story.sla_events(), SlaClockBreached)


def test_the_agreed_time_itself_can_be_missed() -> None:
    story = reported_and_assigned()
    agreed = story.now + 30 * MINUTE
    story.do(AgreeArrivalDelay(agreed_arrival_at=agreed, reason="on another job"))

    fired = story.wait(40 * MINUTE)
    [met] = only(story.do(Arrive()), SlaClockMet)

    [breach] = only(fired, SlaClockBreached, ClockName.ARRIVAL)
    assert breach.due_at == agreed
    assert not met.on_time and met.missed_with_consent


def test_delay_agreed_after_arrival_deadline_is_refused() -> None:
    story = reported_and_assigned()
    story.wait(4 * MINUTE)
    late = AgreeArrivalDelay(agreed_arrival_at=story.now + 30 * MINUTE, reason="too late")

    with pytest.raises(InvalidTransition) as refused:
        story.do(late)

    assert refused.value.code == "deadline_passed"
    assert story.at(ClockName.ARRIVAL).due_at == MONDAY_9AM + 3 * MINUTE
    assert not story.at(ClockName.ARRIVAL).consent


def test_delay_agreed_at_the_arrival_deadline_itself_is_in_time() -> None:
    story = reported_and_assigned()
    story.wait(3 * MINUTE)

    [moved] = story.do(AgreeArrivalDelay(agreed_arrival_at=story.now + 30 * MINUTE, reason="busy"))

    assert isinstance(moved, SlaClockRecalculated) and moved.with_consent


def test_booked_visit_is_not_an_arrival_breach() -> None:
    story = reported_and_assigned()
    booked = story.now + 4 * 60 * MINUTE

    [moved] = story.do(ScheduleAppointment(appointment_at=booked))
    fired = story.wait(4 * 60 * MINUTE)
    [met] = only(story.do(Arrive()), SlaClockMet)

    assert isinstance(moved, SlaClockRecalculated)
    assert moved.reason == "appointment_scheduled"
    assert moved.due_at == booked + DEFAULT_APPOINTMENT_GRACE
    assert not moved.with_consent and moved.promised
    assert only(fired, SlaClockBreached) == []
    assert met.on_time and not met.missed_with_consent


def test_arrival_within_the_booking_grace_keeps_the_promise_and_after_it_breaches() -> None:
    kept, late = reported_and_assigned(), reported_and_assigned()
    for story in (kept, late):
        story.do(ScheduleAppointment(appointment_at=story.now + 60 * MINUTE))

    kept.wait(60 * MINUTE + DEFAULT_APPOINTMENT_GRACE)
    late.wait(60 * MINUTE + DEFAULT_APPOINTMENT_GRACE + MINUTE)

    [on_time] = only(kept.do(Arrive()), SlaClockMet)
    [too_late] = only(late.do(Arrive()), SlaClockMet)
    assert on_time.on_time
    assert not too_late.on_time and not too_late.missed_with_consent


def test_the_booking_grace_is_the_policys() -> None:
    story = SlaStory(policy=default_policy(appointment_grace=5 * MINUTE))
    story.do(reported())
    booked = story.now + 60 * MINUTE

    [moved] = story.do(ScheduleAppointment(appointment_at=booked))

    assert isinstance(moved, SlaClockRecalculated) and moved.due_at == booked + 5 * MINUTE


def test_a_missed_appointment_pauses_arrival_until_a_new_one_is_booked() -> None:
    story = reported_and_assigned()
    story.do(ScheduleAppointment(appointment_at=story.now + 60 * MINUTE))
    story.wait(60 * MINUTE)

    missed = story.do(MissAppointment(note="notice on the door"))

    [paused] = only(missed, SlaClockPaused, ClockName.ARRIVAL)
    assert paused.reason == "appointment_missed" and paused.elapsed_seconds == 3600
    # The resolution clock pauses too; paused clocks have no timers.
    assert {e.clock for e in only(missed, SlaClockPaused)} == {
        ClockName.ARRIVAL,
        ClockName.RESOLUTION,
    }
    assert story.wait(5 * 60 * MINUTE) == []


def test_rebooking_after_missed_appointment_targets_new_appointment() -> None:
    story = reported_and_assigned()
    story.do(ScheduleAppointment(appointment_at=story.now + 60 * MINUTE))
    story.wait(60 * MINUTE + 10 * MINUTE)
    story.do(MissAppointment(note="notice on the door"))
    story.wait(5 * 60 * MINUTE)
    rebooked_at = story.now + 24 * 60 * MINUTE

    rebooked = story.do(ScheduleAppointment(appointment_at=rebooked_at))

    [resumed] = only(rebooked, SlaClockResumed, ClockName.ARRIVAL)
    [moved] = only(rebooked, SlaClockRecalculated, ClockName.ARRIVAL)
    assert rebooked.index(resumed) < rebooked.index(moved)
    assert moved.due_at == rebooked_at + DEFAULT_APPOINTMENT_GRACE
    assert story.at(ClockName.ARRIVAL).due_at == rebooked_at + DEFAULT_APPOINTMENT_GRACE
    # Not the five minutes the old target had left: no breach before the new visit.
    assert only(story.wait(24 * 60 * MINUTE), SlaClockBreached) == []
    [met] = only(story.do(Arrive()), SlaClockMet)
    assert met.on_time and not met.missed_with_consent
    assert met.elapsed_seconds == (70 + 24 * 60) * 60  # the five paused hours do not count


def test_miss_appointment_refused_before_appointment_time() -> None:
    story = reported_and_assigned()
    booked = story.now + 60 * MINUTE
    story.do(ScheduleAppointment(appointment_at=booked))
    story.wait(59 * MINUTE)

    with pytest.raises(InvalidTransition) as refused:
        story.do(MissAppointment(note="nobody answered the phone"))

    assert refused.value.code == "appointment_not_due"
    assert story.current.appointment_at == booked
    assert story.at(ClockName.ARRIVAL).running


def test_miss_appointment_at_the_booked_time_is_accepted() -> None:
    story = reported_and_assigned()
    story.do(ScheduleAppointment(appointment_at=story.now + 60 * MINUTE))
    story.wait(60 * MINUTE)

    missed = story.do(MissAppointment())

    assert only(missed, SlaClockPaused, ClockName.ARRIVAL)


def test_a_complaint_completed_without_a_visit_cancels_its_arrival_clock() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.COMPLAINT))
    story.wait(MINUTE)

    cancelled = only(story.do(Complete(summary="explained by phone")), SlaClockCancelled)

    assert [(e.clock, e.reason) for e in cancelled] == [(ClockName.ARRIVAL, "completed")]


def test_no_visit_needed_stops_arrival_clock_as_kept() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.COMPLAINT))
    story.wait(2 * MINUTE)

    events = story.do(RecordNoVisitNeeded(reason="explained the noise rules by phone"), CS)

    [met] = only(events, SlaClockMet, ClockName.ARRIVAL)
    assert met.on_time and not met.missed_with_consent
    assert met.trigger == "workorder.no_visit_needed"
    assert only(story.wait(60 * MINUTE), SlaClockBreached, ClockName.ARRIVAL) == []
    # Customer service then completes what it settled; the feedback clock still runs.
    story.do(Complete(summary="settled by phone"), CS)
    assert story.current.status is Status.COMPLETED
    assert story.at(ClockName.FEEDBACK).active


def test_no_visit_needed_after_the_arrival_deadline_keeps_the_breach() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.COMPLAINT))
    story.wait(5 * MINUTE)

    [met] = only(story.do(RecordNoVisitNeeded(reason="called back late"), CS), SlaClockMet)

    assert not met.on_time
