"""Escalations driven by work-order facts: a second reopen, an override, a valid complaint."""

from __future__ import annotations

from datetime import timedelta

from services.dispatch.domain.commands import (
    Arrive,
    Assign,
    Complete,
    MakeCommitment,
    MarkComplaint,
    Postpone,
    Reopen,
    StartWork,
)
from shared.events.sla import ClockName, EscalationRole, SlaClockRecalculated, SlaEscalated
from shared.events.workorder import WorkOrderKind

from .sla_story import SlaStory, only, reported

DAY = timedelta(days=1)


def fixed_and_reopened(times: int) -> tuple[SlaStory, list[list[SlaEscalated]]]:
    """A repair fixed and reopened `times` times; the escalations of each reopen."""
    story = SlaStory()
    story.do(reported())
    story.do(Assign(assignee="tech-1"))
    escalations = []
    for _ in range(times):
        for command in (Arrive(), StartWork(), Complete(summary="valve")):
            story.do(command)
        story.wait(DAY)
        escalations.append(only(story.do(Reopen(reason="leaks again")), SlaEscalated))
    return story, escalations


def test_the_first_reopen_escalates_nothing_and_the_second_goes_to_the_supervisor() -> None:
    story, (first, second) = fixed_and_reopened(2)

    assert first == []
    [step] = second
    assert (step.level, step.to_role, step.trigger) == (
        2,
        EscalationRole.SUPERVISOR,
        "second_reopen",
    )
    assert step.occurrence == 2
    # Reported against the resolution clock's new cycle, which the reopen has just started.
    assert (step.clock, step.cycle) == (ClockName.RESOLUTION, 3)
    assert step.due_at == story.at(ClockName.RESOLUTION).due_at


def test_every_later_reopen_escalates_again() -> None:
    story, escalations = fixed_and_reopened(3)

    assert [[s.occurrence for s in e] for e in escalations] == [[], [2], [3]]
    assert story.sla.event_escalations == {"second_reopen": 3}


def test_a_postponement_beyond_the_one_allowed_escalates_to_the_project_manager() -> None:
    story = SlaStory()
    story.do(reported())
    story.do(MakeCommitment(due_at=story.now + DAY))
    story.do(Postpone(new_due_at=story.now + 2 * DAY, reason="parts delayed"))

    events = story.do(
        Postpone(
            new_due_at=story.now + 3 * DAY,
            reason="parts delayed again",
            override_reason="the supplier is closed for the holiday",
        )
    )

    [step] = only(events, SlaEscalated)
    assert (step.level, step.to_role, step.trigger, step.occurrence) == (
        2,
        EscalationRole.PROJECT_MANAGER,
        "postponement_override_granted",
        1,
    )
    assert step.clock is ClockName.RESOLUTION and step.due_at == story.now + 2 * DAY
    # The postponement itself still moves the due time.
    [moved] = only(events, SlaClockRecalculated)
    assert moved.due_at == story.now + 3 * DAY


def test_a_complaint_ruled_valid_escalates_once_to_the_project_manager() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.COMPLAINT))
    story.wait(timedelta(hours=1))

    first = only(story.do(MarkComplaint(valid=True, reason="promise broken")), SlaEscalated)
    story.do(MarkComplaint(valid=False, reason="on review"))
    again = only(story.do(MarkComplaint(valid=True, reason="confirmed")), SlaEscalated)

    [step] = first
    assert (step.to_role, step.trigger, step.clock) == (
        EscalationRole.PROJECT_MANAGER,
        "complaint_marked_valid",
        ClockName.FEEDBACK,
    )
    assert step.due_at == story.log[0][1] + DAY  # the running feedback clock's due time
    assert step.elapsed_seconds == 3600
    assert again == []


def test_a_complaint_ruled_invalid_escalates_nothing() -> None:
    story = SlaStory()
    story.do(reported(WorkOrderKind.COMPLAINT))

    assert only(story.do(MarkComplaint(valid=False, reason="not our fault")), SlaEscalated) == []
