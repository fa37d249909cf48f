"""Warnings, breaches and the time-driven ladder, fired as timers: on time, late, twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from services.dispatch.domain.commands import (
    Arrive,
    Assign,
    Complete,
    MakeCommitment,
    Pause,
    Resume,
    StartWork,
)
from services.dispatch.domain.sla import TimerKind, on_timer
from shared.events.base import EventData
from shared.events.sla import (
    ClockName,
    EscalationRole,
    SlaClockBreached,
    SlaClockEvent,
    SlaClockPaused,
    SlaEscalated,
    SlaWarningRaised,
)
from shared.events.workorder import PauseReason

from .sla_story import SlaStory, only, reported

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
RESOLUTION = ClockName.RESOLUTION


def promised_in_two_days() -> tuple[SlaStory, datetime]:
    """A repair at work (arrival met at once), promised in two days."""
    story = SlaStory()
    story.do(reported())
    for command in (Assign(assignee="tech-1"), Arrive(), StartWork()):
        story.do(command)
    committed_at = story.now
    story.do(MakeCommitment(due_at=committed_at + 2 * DAY))
    return story, committed_at


def of_resolution(events: Sequence[EventData]) -> list[SlaClockEvent]:
    return [e for e in events if isinstance(e, SlaClockEvent) and e.clock is RESOLUTION]


def test_warnings_are_raised_at_half_and_at_four_fifths_of_the_target() -> None:
    story, committed_at = promised_in_two_days()

    fired = only(of_resolution(story.wait(DAY * 1.9)), SlaWarningRaised)

    assert [(w.threshold, w.scheduled_for, w.detected_at) for w in fired] == [
        (0.5, committed_at + DAY, committed_at + DAY),
        (0.8, committed_at + 1.6 * DAY, committed_at + 1.6 * DAY),
    ]
    assert fired[1].elapsed_seconds == (1.6 * DAY).total_seconds()
    assert fired[1].due_at == committed_at + 2 * DAY


def test_the_ladder_climbs_from_the_assignee_to_the_supervisor_to_the_project_manager() -> None:
    story, committed_at = promised_in_two_days()

    steps = only(of_resolution(story.wait(3 * DAY)), SlaEscalated)

    due = committed_at + 2 * DAY
    assert [(s.level, s.to_role, s.trigger, s.scheduled_for) for s in steps] == [
        (1, EscalationRole.ASSIGNEE, "at_0.5", committed_at + DAY),
        (2, EscalationRole.SUPERVISOR, "breach", due),
        (3, EscalationRole.PROJECT_MANAGER, "breach+30m", due + 30 * MINUTE),
    ]
    assert steps[1].detected_at == due + timedelta(microseconds=1)  # right after the breach


def test_at_one_instant_warnings_come_before_the_ladder_and_the_breach_before_its_steps() -> None:
    story, _ = promised_in_two_days()

    kinds = [type(e).__name__ for e in of_resolution(story.wait(3 * DAY))]

    assert kinds == [
        "SlaWarningRaised",  # 50 %
        "SlaEscalated",  # 50 % → the assignee
        "SlaWarningRaised",  # 80 %
        "SlaClockBreached",
        "SlaEscalated",  # breach → the supervisor
        "SlaEscalated",  # breach + 30 min → the project manager
    ]


def test_after_a_downtime_each_overdue_timer_fires_once_with_its_true_due_time() -> None:
    story, committed_at = promised_in_two_days()
    story.downtime(3 * DAY)
    back_at = story.now

    fired = of_resolution(story.wake())

    assert len(fired) == 6
    assert all(getattr(e, "detected_at", None) == back_at for e in fired)
    [breach] = only(fired, SlaClockBreached)
    assert breach.due_at == committed_at + 2 * DAY
    assert [w.scheduled_for for w in only(fired, SlaWarningRaised)] == [
        committed_at + DAY,
        committed_at + 1.6 * DAY,
    ]
    assert story.wake() == []


def test_a_timer_fired_twice_yields_nothing_the_second_time() -> None:
    story, _ = promised_in_two_days()
    story.downtime(3 * DAY)
    [breach_timer] = [
        t for t in story.timers() if t.kind is TimerKind.BREACH and t.clock is RESOLUTION
    ]

    first = on_timer(story.sla, story.book, breach_timer, story.now)
    story.record(first)
    second = on_timer(story.sla, story.book, breach_timer, story.now)

    assert [type(e) for e in first] == [SlaClockBreached]
    assert second == []


def test_a_timer_is_not_fired_before_it_is_due() -> None:
    story, _ = promised_in_two_days()
    [breach_timer] = [
        t for t in story.timers() if t.kind is TimerKind.BREACH and t.clock is RESOLUTION
    ]

    assert on_timer(story.sla, story.book, breach_timer, breach_timer.due_at) == []


def test_a_stale_timer_of_a_met_clock_yields_nothing() -> None:
    story, _ = promised_in_two_days()
    stale = [t for t in story.timers() if t.clock is RESOLUTION]
    story.do(Complete(summary="valve"))

    assert all(on_timer(story.sla, story.book, t, story.now + 9 * DAY) == [] for t in stale)


def test_a_timer_made_stale_by_a_pause_and_resume_yields_nothing() -> None:
    story, _ = promised_in_two_days()
    [old_breach] = [
        t for t in story.timers() if t.kind is TimerKind.BREACH and t.clock is RESOLUTION
    ]
    story.do(Pause(reason=PauseReason.WAITING_FOR_PARTS))
    story.downtime(DAY)
    story.do(Resume())

    assert on_timer(story.sla, story.book, old_breach, old_breach.fires_at) == []
    [new_breach] = [
        t for t in story.timers() if t.kind is TimerKind.BREACH and t.clock is RESOLUTION
    ]
    assert new_breach.due_at == old_breach.due_at + DAY


def test_a_paused_clock_has_no_timers() -> None:
    story, _ = promised_in_two_days()

    story.do(Pause(reason=PauseReason.RESIDENT_ASKED_TO_WAIT))

    assert [t for t in story.timers() if t.clock is RESOLUTION] == []


def test_a_pause_first_raises_what_was_already_overdue() -> None:
    story, _ = promised_in_two_days()
    story.downtime(1.7 * DAY)

    events = of_resolution(story.do(Pause(reason=PauseReason.WAITING_FOR_PARTS)))

    assert [type(e).__name__ for e in events] == [
        "SlaWarningRaised",
        "SlaEscalated",
        "SlaWarningRaised",
        "SlaClockPaused",
    ]
    assert isinstance(events[-1], SlaClockPaused)
    assert events[-1].elapsed_seconds == (1.7 * DAY).total_seconds()


def test_timers_are_keyed_uniquely_and_sorted_by_when_they_fire() -> None:
    story, _ = promised_in_two_days()

    pending = story.timers()

    assert len({t.key for t in pending}) == len(pending)
    assert [t.due_at for t in pending] == sorted(t.due_at for t in pending)
    assert "resolution:1:warning:0.5" in {t.key for t in pending}
    assert all(t.work_order_id == "wo-1" for t in pending)
