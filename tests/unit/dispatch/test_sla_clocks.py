"""The other promises: reply after a fix, progress reports, follow-up visits, cleaning, feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.dispatch.domain.commands import (
    Arrive,
    Assign,
    Cancel,
    Complete,
    GiveFeedback,
    RecordFollowUp,
    Reopen,
    ReportProgress,
    StartWork,
)
from services.dispatch.domain.sla import default_policy
from shared.clock import ManualClock
from shared.events.base import EventData
from shared.events.sla import (
    ClockName,
    SlaClockBreached,
    SlaClockCancelled,
    SlaClockMet,
    SlaClockStarted,
)
from shared.events.workorder import WorkOrderKind

from .sla_story import SlaStory, only, reported

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def fixed(story: SlaStory, kind: WorkOrderKind = WorkOrderKind.REPAIR) -> list[EventData]:
    """Report, go, fix: returns the SLA events of the completion."""
    story.do(reported(kind))
    for command in (Assign(assignee="tech-1"), Arrive(), StartWork()):
        story.do(command)
    return story.do(Complete(summary="done"))


def test_the_reply_after_a_fix_is_due_one_working_day_later_across_a_holiday() -> None:
    # Friday 27 September 2024, 17:00 in Shanghai: the National Day holiday follows, and
    # Sunday 29 September is a make-up working day (调休).
    story = SlaStory(clock=ManualClock(datetime(2024, 9, 27, 9, 0, tzinfo=UTC)))

    [started] = only(fixed(story), SlaClockStarted, ClockName.REPLY)
    story.downtime(datetime(2024, 9, 29, 2, 0, tzinfo=UTC) - story.now)  # Sunday 10:00
    [met] = only(story.do(GiveFeedback(message="fixed")), SlaClockMet, ClockName.REPLY)

    assert started.calendar == "working_days"
    assert started.due_at == datetime(2024, 9, 29, 9, 0, tzinfo=UTC)  # Sunday 17:00
    assert met.on_time
    assert met.elapsed_seconds == 2 * 3600  # Friday 17–18 and Sunday 09–10


def test_a_reopen_cancels_the_reply_that_was_still_owed() -> None:
    story = SlaStory()
    fixed(story)

    events = story.do(Reopen(reason="leaks again"))

    assert [e.reason for e in only(events, SlaClockCancelled, ClockName.REPLY)] == ["reopened"]


def test_a_progress_report_meets_the_week_and_starts_the_next() -> None:
    story = SlaStory()
    story.do(reported())
    story.wait(6 * DAY)

    events = story.do(ReportProgress(note="waterproofing dries"))

    [met] = only(events, SlaClockMet, ClockName.PROGRESS)
    [started] = only(events, SlaClockStarted, ClockName.PROGRESS)
    assert (met.cycle, met.on_time) == (1, True)
    assert (started.cycle, started.due_at) == (2, story.now + 7 * DAY)


def test_a_week_without_a_progress_report_breaches_and_completion_ends_the_reports() -> None:
    story = SlaStory()
    story.do(reported())

    fired = story.wait(8 * DAY)
    for command in (Assign(assignee="tech-1"), Arrive(), StartWork(), Complete(summary="done")):
        story.do(command)

    assert len(only(fired, SlaClockBreached, ClockName.PROGRESS)) == 1
    assert not story.at(ClockName.PROGRESS).active


def test_a_sampled_repair_gets_a_follow_up_clock_and_an_unsampled_one_does_not() -> None:
    [rule] = [
        r for r in default_policy().clocks if r.name is ClockName.FOLLOW_UP and r.sampling_rate < 1
    ]
    sampled = next(f"wo-{n}" for n in range(100) if rule.samples(f"wo-{n}"))
    skipped = next(f"wo-{n}" for n in range(100) if not rule.samples(f"wo-{n}"))
    chosen, passed_over = SlaStory(work_order_id=sampled), SlaStory(work_order_id=skipped)

    [started] = only(fixed(chosen), SlaClockStarted, ClockName.FOLLOW_UP)
    fixed(passed_over)
    chosen.wait(DAY)
    [met] = only(chosen.do(RecordFollowUp(rating=5)), SlaClockMet, ClockName.FOLLOW_UP)

    assert started.target_seconds == 3 * 86400
    assert met.on_time
    assert ClockName.FOLLOW_UP not in passed_over.sla.clocks


def test_a_cleaning_request_is_handled_within_thirty_minutes() -> None:
    on_time, late = SlaStory(), SlaStory()
    for story, minutes in ((on_time, 25), (late, 31)):
        story.do(reported(WorkOrderKind.CLEANING, "stairwell"))
        for command in (Assign(assignee="cleaner-1"), Arrive(), StartWork()):
            story.do(command)
        story.wait(minutes * MINUTE)
        story.do(Complete(summary="swept"))

    [met_on_time] = only(on_time.sla_events(), SlaClockMet, ClockName.CLEANING)
    [met_late] = only(late.sla_events(), SlaClockMet, ClockName.CLEANING)
    assert met_on_time.on_time
    assert not met_late.on_time
    assert len(only(late.sla_events(), SlaClockBreached, ClockName.CLEANING)) == 1


def test_a_suggestion_gets_feedback_within_two_days() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.SUGGESTION, "gardens"))

    fired = story.wait(3 * DAY)

    [breach] = only(fired, SlaClockBreached, ClockName.FEEDBACK)
    assert breach.due_at == story.log[0][1] + 2 * DAY


def test_cancelling_the_work_order_cancels_every_running_clock() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.COMPLAINT))

    events = only(story.do(Cancel(reason="resident withdrew")), SlaClockCancelled)

    assert {e.clock for e in events} == {
        ClockName.ARRIVAL,
        ClockName.FEEDBACK,
        ClockName.RESOLUTION,
        ClockName.PROGRESS,
    }
    assert story.timers() == []
