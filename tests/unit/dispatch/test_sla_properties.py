"""Properties of the clocks over any history: random commands at random later times, timers fired."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.dispatch.domain.commands import (
    AgreeArrivalDelay,
    Arrive,
    Assign,
    Complete,
    GiveFeedback,
    MakeCommitment,
    MarkComplaint,
    MissAppointment,
    Pause,
    Postpone,
    RecordFollowUp,
    Reopen,
    ReportProgress,
    Resume,
    ScheduleAppointment,
    StartWork,
)
from services.dispatch.domain.sla import fold_sla, on_timer
from shared.errors import AppError
from shared.events.catalogue import parse
from shared.events.sla import (
    SlaClockBreached,
    SlaClockCancelled,
    SlaClockEvent,
    SlaClockMet,
    SlaClockStarted,
    SlaEscalated,
    SlaWarningRaised,
)
from shared.events.workorder import PauseReason, WorkOrderKind

from .builders import SUPERVISOR
from .sla_story import SlaStory, reported
from .test_workorder_properties import WAITS, CommandAt, Step, commands

# The lifecycle's own moves with sensible values, so that histories reach pauses, resumes,
# promises and postponements; the other module's random commands add the odd ones.
LIFECYCLE: list[CommandAt] = [
    lambda now: Assign(assignee="tech-1"),
    lambda now: AgreeArrivalDelay(agreed_arrival_at=now + timedelta(minutes=20), reason="far"),
    lambda now: ScheduleAppointment(appointment_at=now + timedelta(hours=2)),
    lambda now: MissAppointment(),
    lambda now: Arrive(),
    lambda now: StartWork(),
    lambda now: Pause(reason=PauseReason.WAITING_FOR_PARTS),
    lambda now: Pause(reason=PauseReason.OTHER),
    lambda now: Resume(),
    lambda now: MakeCommitment(due_at=now + timedelta(days=2)),
    lambda now: Postpone(new_due_at=now + timedelta(days=4), reason="parts", override_reason="ok"),
    lambda now: ReportProgress(note="going on"),
    lambda now: Complete(summary="done"),
    lambda now: GiveFeedback(message="done"),
    lambda now: RecordFollowUp(rating=4),
    lambda now: Reopen(reason="again"),
    lambda now: MarkComplaint(valid=True, reason="yes"),
]
moves = st.integers(0, 4).flatmap(lambda i: commands if i == 0 else st.sampled_from(LIFECYCLE))

HISTORIES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _told(kind: WorkOrderKind, steps: list[Step]) -> SlaStory:
    story = SlaStory()
    story.do(reported(kind))
    for wait, actor, command_at in steps:
        story.wait(timedelta(minutes=wait))
        try:
            story.do(command_at(story.now), actor)
        except AppError:
            continue  # refused: the work order and its clocks are unchanged
        # Whatever is pending now is for later: none of it may fire early.
        assert all(
            on_timer(story.sla, story.book, t, story.now) == []
            for t in story.timers()
            if t.fires_at > story.now
        )
    story.wait(timedelta(days=30))
    return story


def _check_cycles(story: SlaStory) -> None:
    by_cycle: dict[tuple[str, int], list[SlaClockEvent]] = defaultdict(list)
    for sla_event in story.sla_events():
        if not (isinstance(sla_event, SlaEscalated) and sla_event.occurrence is not None):
            by_cycle[(sla_event.clock, sla_event.cycle)].append(sla_event)
    for events in by_cycle.values():
        assert isinstance(events[0], SlaClockStarted), "a cycle begins with its start"
        breaches = [e for e in events if isinstance(e, SlaClockBreached)]
        endings = [e for e in events if isinstance(e, SlaClockMet | SlaClockCancelled)]
        assert len(breaches) <= 1 and len(endings) <= 1
        if endings:
            assert events[-1] is endings[0], "nothing happens to a concluded cycle"
        for met in (e for e in endings if isinstance(e, SlaClockMet)):
            assert met.on_time is (not breaches)
        for breach in breaches:
            assert breach.detected_at > breach.due_at
        for timed in (e for e in events if isinstance(e, SlaWarningRaised | SlaEscalated)):
            assert timed.detected_at >= timed.scheduled_for


@HISTORIES
@given(
    kind=st.sampled_from(WorkOrderKind),
    # A supervisor may do everything, so histories get far instead of meeting refusals.
    steps=st.lists(st.tuples(WAITS, st.just(SUPERVISOR), moves), min_size=10, max_size=40),
)
def test_any_history_keeps_the_clocks_consistent(kind: WorkOrderKind, steps: list[Step]) -> None:
    story = _told(kind, steps)

    for seen in sorted({type(e).__name__ for e in story.sla_events()}):
        event(f"saw {seen}")
    _check_cycles(story)
    stored = [
        (parse(e.type_name, json.loads(e.model_dump_json())), at)
        for e, at in story.log
        if isinstance(e, SlaClockEvent)
    ]
    assert fold_sla(stored) == story.sla
    for timer in story.timers():
        clock = story.sla.clocks[timer.clock]
        assert clock.active and clock.running and timer.cycle == clock.cycle
    for clock in story.sla.clocks.values():
        if clock.running and clock.active:
            # A running clock counts no more business time than wall time has passed.
            calendar = story.policy.calendar(clock.calendar)
            assert clock.elapsed_at(calendar, story.now) <= story.now - clock.started_at
