"""Explicit recalculation: a newer policy version or a changed urgency, elapsed time kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.dispatch.domain.commands import (
    Arrive,
    Assign,
    MakeCommitment,
    Pause,
    Resume,
    StartWork,
)
from services.dispatch.domain.sla import (
    URGENCY_CHANGED,
    ClockRule,
    PauseRule,
    PolicyBook,
    SlaPolicy,
    default_policy,
    recalculate,
)
from shared.events.sla import (
    ClockName,
    SlaClockBreached,
    SlaClockCancelled,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
    SlaWarningRaised,
)
from shared.events.workorder import PauseReason, Urgency, WorkOrderKind

from .sla_story import SlaStory, only, reported

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def with_urgent_feedback(version: int = 1) -> SlaPolicy:
    """The defaults, but an urgent complaint gets feedback within 4 hours."""
    policy = default_policy(version=version)
    clocks = tuple(
        rule.model_copy(update={"urgent_target": 4 * HOUR})
        if rule.name is ClockName.FEEDBACK and rule.kinds == (WorkOrderKind.COMPLAINT,)
        else rule
        for rule in policy.clocks
    )
    return policy.model_copy(update={"clocks": clocks})


def cleaning_policy(version: int, minutes: int) -> SlaPolicy:
    """Only a cleaning clock of `minutes`, paused while work is paused for any reason."""
    rule = ClockRule(
        name=ClockName.CLEANING,
        target=minutes * MINUTE,
        start_on=("workorder.reported",),
        stop_on=("workorder.completed",),
        pause_on=(PauseRule(on="workorder.paused", until=("workorder.resumed",)),),
    )
    return SlaPolicy(version=version, clocks=(rule,))


def test_an_urgency_change_recalculates_the_deadline_keeping_the_elapsed_time() -> None:
    story = SlaStory(policy=with_urgent_feedback())
    story.do(reported(WorkOrderKind.COMPLAINT))
    reported_at = story.now
    story.wait(2 * HOUR)

    urgent = replace(story.current, urgency=Urgency.URGENT)
    events = recalculate(story.sla, story.book, urgent, story.now, reason=URGENCY_CHANGED)

    [moved] = only(events, SlaClockRecalculated, ClockName.FEEDBACK)
    assert moved.reason == "urgency_changed"
    assert (moved.previous_due_at, moved.due_at) == (reported_at + DAY, reported_at + 4 * HOUR)
    assert (moved.elapsed_seconds, moved.remaining_seconds) == (7200, 7200)
    assert moved.target_seconds == 4 * 3600
    # Only the clock whose target changed moves.
    assert {e.clock for e in only(events, SlaClockRecalculated)} == {ClockName.FEEDBACK}


def test_a_newer_policy_reaches_running_clocks_only_through_a_recalculation() -> None:
    story = SlaStory(policy=cleaning_policy(version=1, minutes=30))
    story.do(reported(WorkOrderKind.CLEANING, "stairwell"))
    story.wait(10 * MINUTE)
    story.publish(cleaning_policy(version=2, minutes=60))

    assert story.at(ClockName.CLEANING).policy_version == 1  # the new version alone changes nothing
    [moved] = recalculate(story.sla, story.book, story.current, story.now)

    assert isinstance(moved, SlaClockRecalculated)
    assert (moved.reason, moved.policy_version) == ("policy_changed", 2)
    assert moved.due_at == story.now + 50 * MINUTE
    assert moved.elapsed_seconds == 600


def test_paused_time_is_not_lost_when_the_policy_changes_during_the_pause() -> None:
    story = SlaStory(policy=cleaning_policy(version=1, minutes=30))
    story.do(reported(WorkOrderKind.CLEANING, "stairwell"))
    for command in (Assign(assignee="cleaner-1"), Arrive(), StartWork()):
        story.do(command)
    story.wait(10 * MINUTE)
    story.do(Pause(reason=PauseReason.OTHER))
    story.wait(2 * HOUR)
    story.publish(cleaning_policy(version=2, minutes=60))

    story.record(recalculate(story.sla, story.book, story.current, story.now))
    story.wait(HOUR)
    [resumed] = only(story.do(Resume()), SlaClockResumed)

    assert story.at(ClockName.CLEANING).running
    assert resumed.elapsed_seconds == 600  # ten minutes counted, three paused hours not
    assert resumed.due_at == story.now + 50 * MINUTE


def test_a_promised_time_survives_a_recalculation() -> None:
    story = SlaStory()
    story.do(reported())
    promised = story.now + 2 * DAY
    story.do(MakeCommitment(due_at=promised))
    story.wait(HOUR)

    events = recalculate(
        story.sla,
        PolicyBook(default_policy(version=2), {1: story.policy}),
        story.current,
        story.now,
    )

    [moved] = only(events, SlaClockRecalculated, ClockName.RESOLUTION)
    assert moved.due_at == promised and moved.policy_version == 2
    assert moved.promised


def test_a_clock_the_newer_policy_drops_is_cancelled() -> None:
    story = SlaStory(policy=cleaning_policy(version=1, minutes=30))
    story.do(reported(WorkOrderKind.CLEANING, "stairwell"))

    [cancelled] = recalculate(
        story.sla, PolicyBook(SlaPolicy(version=2), {1: story.policy}), story.current, story.now
    )

    assert isinstance(cancelled, SlaClockCancelled)
    assert cancelled.reason == "no_longer_applies"


def test_a_shorter_target_already_used_up_is_due_at_once() -> None:
    story = SlaStory(policy=cleaning_policy(version=1, minutes=30))
    story.do(reported(WorkOrderKind.CLEANING, "stairwell"))
    story.wait(20 * MINUTE)
    story.publish(cleaning_policy(version=2, minutes=15))

    story.record(recalculate(story.sla, story.book, story.current, story.now))
    recalculated_at = story.now
    [breach] = only(story.wait(MINUTE), SlaClockBreached)

    assert breach.due_at == recalculated_at
    assert breach.remaining_seconds == -5 * 60


def test_a_recalculation_that_changes_nothing_records_nothing() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.COMPLAINT))
    story.wait(HOUR)

    assert recalculate(story.sla, story.book, story.current, story.now) == []


def test_clocks_started_after_a_policy_change_run_under_the_new_version() -> None:
    story = SlaStory(policy=cleaning_policy(version=3, minutes=30))

    [started] = only(story.do(reported(WorkOrderKind.CLEANING, "stairwell")), SlaClockStarted)

    assert started.policy_version == 3


def test_a_running_clock_warns_and_breaches_on_the_version_it_started_under() -> None:
    story = SlaStory(policy=cleaning_policy(version=1, minutes=30))
    story.do(reported(WorkOrderKind.CLEANING, "stairwell"))
    # Version 2 halves the target and warns at a quarter: only new clocks follow it.
    story.publish(
        cleaning_policy(version=2, minutes=15).model_copy(update={"warning_thresholds": (0.25,)})
    )

    fired = story.wait(31 * MINUTE)

    warnings = only(fired, SlaWarningRaised)
    assert [(w.threshold, w.policy_version) for w in warnings] == [(0.5, 1), (0.8, 1)]
    [breach] = only(fired, SlaClockBreached)
    assert breach.due_at == story.at(ClockName.CLEANING).started_at + 30 * MINUTE


def test_after_a_recalculation_the_clock_follows_the_new_version() -> None:
    story = SlaStory(policy=cleaning_policy(version=1, minutes=30))
    story.do(reported(WorkOrderKind.CLEANING, "stairwell"))
    story.publish(
        cleaning_policy(version=2, minutes=30).model_copy(update={"warning_thresholds": (0.25,)})
    )
    story.record(recalculate(story.sla, story.book, story.current, story.now))

    fired = story.wait(10 * MINUTE)

    assert [(w.threshold, w.policy_version) for w in only(fired, SlaWarningRaised)] == [(0.25, 2)]


def test_recalculation_moves_an_unpromised_resolution_clock_to_the_new_default() -> None:
    story = SlaStory()
    story.do(reported())
    reported_at = story.now
    story.wait(HOUR)
    three_days = default_policy(version=2, resolution_default=3 * DAY)

    events = recalculate(
        story.sla, PolicyBook(three_days, {1: story.policy}), story.current, story.now
    )

    [moved] = only(events, SlaClockRecalculated, ClockName.RESOLUTION)
    assert moved.due_at == reported_at + 3 * DAY
    assert moved.target_seconds == (3 * DAY).total_seconds()
    assert not moved.promised
