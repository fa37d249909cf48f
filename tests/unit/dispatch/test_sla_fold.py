"""The SLA state is the fold of the SLA events, and the timers are a function of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.dispatch.domain.commands import (
    AgreeArrivalDelay,
    Arrive,
    Assign,
    Complete,
    GiveFeedback,
    MakeCommitment,
    MarkComplaint,
    Pause,
    Postpone,
    Reopen,
    ReportProgress,
    Resume,
    StartWork,
)
from services.dispatch.domain.sla import (
    PublicHolidays,
    SlaPolicy,
    SlaState,
    china_public_calendar,
    default_policy,
    evolve_sla,
    fold_sla,
    timers,
)
from services.dispatch.domain.workorder import UnfoldableEvent
from shared.events.base import EventData
from shared.events.catalogue import parse
from shared.events.sla import SLA_EVENTS, ClockName, SlaClockEvent, SlaClockMet
from shared.events.workorder import PauseReason, WorkOrderKind

from .sla_story import SlaStory, reported

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def a_long_complaint(policy: SlaPolicy | None = None) -> SlaStory:
    """A complaint that goes through almost everything the clocks react to."""
    story = SlaStory() if policy is None else SlaStory(policy=policy)
    story.do(reported(WorkOrderKind.COMPLAINT))
    story.do(Assign(assignee="tech-1"))
    story.do(AgreeArrivalDelay(agreed_arrival_at=story.now + HOUR, reason="stuck in traffic"))
    story.wait(HOUR / 2)
    story.do(Arrive())
    story.do(StartWork())
    story.do(MakeCommitment(due_at=story.now + 2 * DAY))
    story.wait(DAY)
    story.do(Pause(reason=PauseReason.WAITING_FOR_PARTS))
    story.downtime(DAY / 2)
    story.do(Resume())
    story.do(Postpone(new_due_at=story.now + 3 * DAY, reason="parts delayed"))
    story.wait(2 * DAY)
    story.do(ReportProgress(note="parts arrived"))
    story.do(GiveFeedback(message="we are on it"))
    story.do(MarkComplaint(valid=True, reason="promise broken"))
    story.wait(2 * DAY)
    story.do(Complete(summary="done"))
    story.do(Reopen(reason="back again"))
    story.wait(HOUR)
    return story


def through_json(event: EventData) -> EventData:
    """An event as the store keeps it: JSON text, read back by its type name."""
    data = json.loads(event.model_dump_json())
    return parse(event.type_name, data)


def test_the_fold_of_the_stored_events_is_the_state_built_step_by_step() -> None:
    story = a_long_complaint()
    stored = [(through_json(e), at) for e, at in story.log if isinstance(e, SlaClockEvent)]

    assert fold_sla(stored) == story.sla
    assert timers(fold_sla(stored), story.book, "wo-1") == story.timers()


def test_the_story_touched_every_kind_of_sla_event() -> None:
    # Told in a year whose make-up working days are not known, so the reply clock (on
    # working days) warns that its due time may move.
    unannounced = PublicHolidays(package=lambda year: (china_public_calendar(year)[0], frozenset()))
    policy = default_policy().with_public_holidays(unannounced)

    kinds = {type(e) for e in a_long_complaint(policy).sla_events()}

    assert kinds == set(SLA_EVENTS)


def test_work_order_events_in_the_stream_are_ignored_by_the_fold() -> None:
    story = a_long_complaint()

    assert fold_sla(story.log) == story.sla


def test_an_event_for_a_clock_that_never_started_cannot_be_folded() -> None:
    stray = SlaClockMet(
        clock=ClockName.CLEANING,
        cycle=1,
        policy_version=1,
        elapsed_seconds=0,
        remaining_seconds=0,
        due_at=datetime(2024, 5, 6, tzinfo=UTC),
        on_time=True,
        missed_with_consent=False,
        trigger="workorder.completed",
    )

    with pytest.raises(UnfoldableEvent):
        evolve_sla(SlaState(), stray, datetime(2024, 5, 6, tzinfo=UTC))


def test_sla_event_types_are_unique_and_named_under_workorder() -> None:
    names = [cls.type_name for cls in SLA_EVENTS]

    assert len(set(names)) == len(names) == 10
    assert all(n.startswith("workorder.sla_") for n in names)
    assert all(cls.cloudevents_type().endswith(".v1") for cls in SLA_EVENTS)


@pytest.mark.parametrize("cls", SLA_EVENTS, ids=lambda c: c.type_name)
def test_every_sla_event_has_a_json_schema_for_integrators(cls: type[EventData]) -> None:
    schema = cls.model_json_schema()

    assert {"clock", "cycle", "policy_version", "elapsed_seconds", "remaining_seconds"} <= set(
        schema["required"]
    )
    assert "due_at" in schema["properties"]
