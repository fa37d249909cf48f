"""Properties of any history: random commands by random people at random later times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.dispatch.domain.commands import (
    AgreeArrivalDelay,
    Arrive,
    Assign,
    Cancel,
    Close,
    Command,
    Complete,
    GiveFeedback,
    MakeCommitment,
    MarkComplaint,
    MissAppointment,
    Pause,
    Postpone,
    Reassign,
    RecordFollowUp,
    RecordNoVisitNeeded,
    Reopen,
    ReportProgress,
    ReportWorkOrder,
    Resume,
    ScheduleAppointment,
    StartWork,
    TransferOwner,
)
from services.dispatch.domain.workorder import Actor, Status, WorkOrderState, decide, evolve, fold
from shared.auth import Role
from shared.errors import AppError, InvalidTransition
from shared.events.base import EventData
from shared.events.workorder import (
    OwnerTransferred,
    PauseReason,
    Postponed,
    WorkOrderKind,
    WorkOrderReported,
)

from .builders import CUSTOMER_SERVICE, T0, report

TECHNICIANS = ["tech-1", "tech-2"]
STAFF = ["cs-1", "cs-2", "disp-1"]

# Managers come up often, so that overrides, rulings and whole lifecycles happen; the
# others mostly meet refusals, which is the other half of the property.
ACTORS = st.sampled_from(
    [
        Actor("res-1", Role.RESIDENT),
        Actor("res-2", Role.RESIDENT),
        Actor("cs-1", Role.CUSTOMER_SERVICE),
        Actor("disp-1", Role.DISPATCHER),
        Actor("tech-1", Role.TECHNICIAN),
        Actor("tech-2", Role.TECHNICIAN),
        Actor("hq-1", Role.HQ_QUALITY),
        Actor("int-1", Role.INTEGRATOR),
    ]
) | st.sampled_from([Actor("sup-1", Role.SUPERVISOR), Actor("pm-1", Role.PROJECT_MANAGER)])

CommandAt = Callable[[datetime], Command]
reasons = st.sampled_from(["rain", "parts", "holiday"])
overrides = st.none() | reasons
# Minutes from the moment of the command: the past, the 7-day limit's edges, far ahead.
ahead = st.sampled_from([-60, 0, 30, 240, 1440, 2880, 4320, 10080, 10081, 14400]).map(
    lambda m: timedelta(minutes=m)
)


def _fixed(command: st.SearchStrategy[Command]) -> st.SearchStrategy[CommandAt]:
    return command.map(lambda c: lambda now: c)


def _timed(make: Callable[[datetime], Command]) -> st.SearchStrategy[CommandAt]:
    return ahead.map(lambda delta: lambda now: make(now + delta))


COMMANDS: dict[str, st.SearchStrategy[CommandAt]] = {
    "report": _fixed(st.just(report())),
    "transfer-owner": _fixed(
        st.builds(TransferOwner, to_owner=st.sampled_from(STAFF), reason=reasons)
    ),
    "assign": _fixed(st.builds(Assign, assignee=st.sampled_from(TECHNICIANS))),
    "reassign": _fixed(
        st.builds(Reassign, to_assignee=st.sampled_from(TECHNICIANS), reason=reasons)
    ),
    "agree-arrival-delay": _timed(lambda at: AgreeArrivalDelay(agreed_arrival_at=at, reason="x")),
    "arrive": _fixed(st.just(Arrive())),
    "schedule-appointment": _timed(lambda at: ScheduleAppointment(appointment_at=at)),
    "miss-appointment": _fixed(st.builds(MissAppointment)),
    "record-no-visit-needed": _fixed(st.builds(RecordNoVisitNeeded, reason=reasons)),
    "start-work": _fixed(st.just(StartWork())),
    "pause": _fixed(st.builds(Pause, reason=st.sampled_from(PauseReason))),
    "resume": _fixed(st.just(Resume())),
    "make-commitment": st.tuples(ahead, overrides).map(
        lambda a: lambda now: MakeCommitment(due_at=now + a[0], override_reason=a[1])
    ),
    "postpone": st.tuples(ahead, overrides).map(
        lambda a: lambda now: Postpone(new_due_at=now + a[0], reason="late", override_reason=a[1])
    ),
    "report-progress": _fixed(st.builds(ReportProgress, note=reasons)),
    "complete": _fixed(st.builds(Complete, summary=reasons)),
    "give-feedback": _fixed(st.builds(GiveFeedback, message=reasons)),
    "record-follow-up": _fixed(st.builds(RecordFollowUp, rating=st.integers(1, 5))),
    "close": _fixed(st.just(Close())),
    "reopen": _fixed(st.builds(Reopen, reason=reasons)),
    "cancel": _fixed(st.builds(Cancel, reason=reasons)),
    "mark-complaint": _fixed(st.builds(MarkComplaint, valid=st.booleans(), reason=reasons)),
}
# Cancelling ends a history, so it is drawn rarely; the lifecycle's main path often.
WEIGHTS = {
    "cancel": 1,
    "report": 1,
    "assign": 4,
    "arrive": 4,
    "start-work": 4,
    "complete": 4,
    "postpone": 4,
    "make-commitment": 3,
    "close": 3,
    "reopen": 3,
}
NAMES = [name for name in COMMANDS for _ in range(WEIGHTS.get(name, 2))]
commands = st.sampled_from(NAMES).flatmap(lambda name: COMMANDS[name])


def _check_invariants(state: WorkOrderState, history: list[tuple[EventData, datetime]]) -> None:
    assert fold(history) == state
    assert state.version == len(history)
    owners = [
        e.owner if isinstance(e, WorkOrderReported) else e.to_owner
        for e, _ in history
        if isinstance(e, WorkOrderReported | OwnerTransferred)
    ]
    assert state.owner == owners[-1]
    assert state.postponements <= 1 + state.postponement_overrides
    numbers = [e.postponement_number for e, _ in history if isinstance(e, Postponed)]
    assert numbers == list(range(1, len(numbers) + 1))
    if state.status in {Status.REPORTED}:
        assert state.assignee is None
    if state.status in {Status.ASSIGNED, Status.ON_SITE, Status.IN_PROGRESS, Status.PAUSED}:
        assert state.assignee is not None
    assert (state.status is Status.PAUSED) == (state.pause_reason is not None)


WAITS = st.sampled_from([0, 1, 3, 30, 240, 1440, 4320])  # minutes until the next command
Step = tuple[int, Actor, CommandAt]
FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _tell(kind: WorkOrderKind, steps: list[Step]) -> WorkOrderState:
    """Report a work order, then try every step, checking the invariants after each one."""
    now = T0
    [reported] = decide(None, report(kind), CUSTOMER_SERVICE, now)
    history: list[tuple[EventData, datetime]] = [(reported, now)]
    state = evolve(None, reported, now)

    for wait, actor, command_at in steps:
        now += timedelta(minutes=wait)
        command = command_at(now)
        before = state
        try:
            events = decide(state, command, actor, now)
        except AppError as refused:
            if isinstance(refused, InvalidTransition):
                assert refused.extra["current_status"] == before.status.value
                assert f"'{before.status.value}'" in refused.message
            event(f"refused: {type(refused).__name__}")
            continue
        event(f"accepted {command.name}")
        assert not isinstance(command, ReportWorkOrder)
        assert before.status is not Status.CANCELLED, "nothing is allowed after cancelled"
        if before.status is Status.CLOSED:
            assert command.name in {"reopen", "mark-complaint"}
        assert len(events) >= 1
        for emitted in events:
            # Events survive the trip through JSON that the store and the bus give them.
            assert type(emitted).model_validate_json(emitted.model_dump_json()) == emitted
            state = evolve(state, emitted, now)
            history.append((emitted, now))
        if isinstance(command, Postpone):
            assert before.commitment_due_at is not None
            assert now < before.commitment_due_at, "told before the deadline"
        _check_invariants(state, history)

    event(f"ended {state.status.value}")
    event(
        f"postponed {min(state.postponements, 3)} times, {state.postponement_overrides} overrides"
    )
    return state


@FAST
@given(
    kind=st.sampled_from(WorkOrderKind),
    steps=st.lists(st.tuples(WAITS, ACTORS, commands), min_size=20, max_size=80),
)
def test_any_history_folds_to_the_state_and_keeps_the_invariants(
    kind: WorkOrderKind, steps: list[Step]
) -> None:
    _tell(kind, steps)


# Promises and postponements on an open order, and nothing else.
PROMISE_COMMANDS = st.sampled_from(["make-commitment", "postpone", "postpone", "postpone"]).flatmap(
    lambda name: COMMANDS[name]
)


@FAST
@given(
    steps=st.lists(
        st.tuples(st.sampled_from([0, 1, 30, 240]), ACTORS, PROMISE_COMMANDS),
        min_size=10,
        max_size=60,
    )
)
def test_a_matter_is_postponed_once_unless_a_manager_overrides(steps: list[Step]) -> None:
    state = _tell(WorkOrderKind.REPAIR, steps)

    assert state.postponements <= 1 + state.postponement_overrides
