"""The promised resolution time (承诺时间): commitment, pauses, postponement, reopen."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.dispatch.domain.commands import (
    Arrive,
    Assign,
    Complete,
    MakeCommitment,
    Pause,
    Postpone,
    Reopen,
    Resume,
    StartWork,
)
from shared.events.sla import (
    ClockName,
    SlaClockBreached,
    SlaClockMet,
    SlaClockPaused,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
    SlaWarningRaised,
)
from shared.events.workorder import PauseReason, WorkOrderKind

from .sla_story import SlaStory, only, reported

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
RESOLUTION = ClockName.RESOLUTION


def at_work_with_a_promise(days: float = 2) -> tuple[SlaStory, datetime]:
    """A repair whose technician is at work, promised to be fixed `days` from now."""
    story = SlaStory()
    story.do(reported())
    for command in (Assign(assignee="tech-1"), Arrive(), StartWork()):
        story.do(command)
    committed_at = story.now
    story.do(MakeCommitment(due_at=committed_at + DAY * days))
    return story, committed_at


def test_a_repair_is_due_two_days_after_the_report_until_a_time_is_promised() -> None:
    story = SlaStory()

    [started] = only(story.do(reported()), SlaClockStarted, RESOLUTION)

    assert (started.cycle, started.due_at) == (1, story.now + 2 * DAY)
    assert not started.promised and started.trigger == "workorder.reported"


def test_a_commitment_moves_the_resolution_clock_to_the_promised_time() -> None:
    story = SlaStory()
    story.do(reported())
    story.wait(HOUR)
    promised = story.now + 3 * DAY

    [moved] = only(story.do(MakeCommitment(due_at=promised)), SlaClockRecalculated)

    assert (moved.clock, moved.reason, moved.due_at) == (RESOLUTION, "commitment_made", promised)
    assert moved.promised and not moved.with_consent
    assert moved.elapsed_seconds == HOUR.total_seconds()  # counted since the report
    assert moved.target_seconds == (3 * DAY + HOUR).total_seconds()


def test_a_suggestion_gets_a_resolution_clock_only_from_a_commitment() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.SUGGESTION, "landscaping"))
    assert RESOLUTION not in story.sla.clocks
    promised = story.now + 2 * DAY

    [started] = only(story.do(MakeCommitment(due_at=promised)), SlaClockStarted)

    assert (started.clock, started.cycle, started.due_at) == (RESOLUTION, 1, promised)
    assert started.target_seconds == (2 * DAY).total_seconds()
    assert started.promised and started.trigger == "workorder.commitment_made"


def test_waiting_for_parts_pauses_resolution_and_the_paused_time_does_not_count() -> None:
    story, committed_at = at_work_with_a_promise(days=2)
    story.wait(DAY)

    [paused] = only(story.do(Pause(reason=PauseReason.WAITING_FOR_PARTS)), SlaClockPaused)
    story.wait(3 * DAY)
    [resumed] = only(story.do(Resume()), SlaClockResumed)
    story.wait(DAY / 2)
    [met] = only(story.do(Complete(summary="valve")), SlaClockMet, RESOLUTION)

    assert (paused.reason, paused.elapsed_seconds) == ("waiting_for_parts", DAY.total_seconds())
    assert resumed.due_at == committed_at + 5 * DAY  # moved by the three paused days
    assert met.on_time
    assert met.elapsed_seconds == (1.5 * DAY).total_seconds()
    assert not only(story.sla_events(), SlaClockBreached)


def test_a_pause_for_another_reason_does_not_stop_the_clock() -> None:
    story, committed_at = at_work_with_a_promise(days=2)

    events = story.do(Pause(reason=PauseReason.OTHER))
    fired = story.wait(3 * DAY)

    assert events == []
    [breach] = only(fired, SlaClockBreached, RESOLUTION)
    assert breach.due_at == committed_at + 2 * DAY


def test_a_postponement_recalculates_the_due_time_keeping_the_elapsed_time() -> None:
    story, committed_at = at_work_with_a_promise(days=2)
    story.wait(1.5 * DAY)  # the 50 % warning is raised on the way
    new_due = committed_at + 4 * DAY

    [moved] = story.do(Postpone(new_due_at=new_due, reason="parts delayed"))

    assert isinstance(moved, SlaClockRecalculated)
    assert moved.reason == "postponed" and not moved.with_consent
    assert (moved.previous_due_at, moved.due_at) == (committed_at + 2 * DAY, new_due)
    assert moved.elapsed_seconds == (1.5 * DAY).total_seconds()
    assert moved.target_seconds == (4 * DAY).total_seconds()
    assert story.at(RESOLUTION).due_at == new_due


def test_after_a_postponement_the_warnings_the_new_target_puts_ahead_come_again() -> None:
    story, committed_at = at_work_with_a_promise(days=2)
    story.wait(1.5 * DAY)
    story.do(Postpone(new_due_at=committed_at + 4 * DAY, reason="parts delayed"))

    fired = story.wait(2 * DAY)

    warnings = only(fired, SlaWarningRaised, RESOLUTION)
    assert [(w.threshold, w.scheduled_for) for w in warnings] == [
        (0.5, committed_at + 2 * DAY),
        (0.8, committed_at + 3.2 * DAY),
    ]


def test_a_reopen_starts_a_new_resolution_cycle_that_the_next_commitment_moves() -> None:
    story, _ = at_work_with_a_promise(days=2)
    story.wait(HOUR)
    story.do(Complete(summary="valve"))
    story.wait(DAY)

    [started] = only(story.do(Reopen(reason="leaks again")), SlaClockStarted, RESOLUTION)
    story.wait(HOUR)
    [moved] = only(story.do(MakeCommitment(due_at=story.now + DAY)), SlaClockRecalculated)

    assert (started.cycle, started.promised) == (2, False)
    assert started.due_at == story.now - HOUR + 2 * DAY
    assert (moved.cycle, moved.due_at) == (2, story.now + DAY)
    assert moved.elapsed_seconds == HOUR.total_seconds()  # cycle 1's time is not carried over


def test_a_stop_recorded_while_the_scheduler_was_down_records_the_breach_first() -> None:
    story, committed_at = at_work_with_a_promise(days=1)
    story.downtime(2 * DAY)

    events = story.do(Complete(summary="valve"))

    resolution = [e for e in events if getattr(e, "clock", None) is RESOLUTION]
    assert [type(e) for e in resolution] == [SlaClockBreached, SlaClockMet]
    breach, met = resolution
    assert isinstance(breach, SlaClockBreached) and isinstance(met, SlaClockMet)
    assert breach.due_at == committed_at + DAY and breach.detected_at == story.now
    assert not met.on_time
    # The warnings nobody saw are not raised any more: the clock is concluded.
    assert not only(events, SlaWarningRaised, RESOLUTION)
