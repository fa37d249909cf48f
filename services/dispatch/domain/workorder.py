"""Deciding what a command does to a work order (工单): the lifecycle rules.

`decide` checks the actor's permission (`permissions.authorize`), then the current status,
then the values, and returns the events to append; it never reads the wall clock.

    reported ──assign──▶ assigned ──arrive──▶ on_site ──start-work──▶ in_progress ⇄ paused
       │                    │                    │                        │
       └──── complete (complaints and suggestions need no visit) ───────┴──▶ completed
    completed ──close──▶ closed;   completed/closed ──reopen──▶ assigned (or reported)
    any open status ──cancel──▶ cancelled (final: nothing is allowed after it)

Choices where the brief was silent:
- A second postponement needs an override reason from a supervisor or project manager;
  the first postponement never does (an override reason given with it is ignored).
  Overrides are counted, so `postponements <= 1 + postponement_overrides` always holds.
- The 7-day limit applies to the first promise (承诺时间) only, not to postponements:
  postponing is already limited to once and must be announced before the deadline.
- A complaint's validity may still be ruled on after the order is closed (the
  supervisor's review often comes last); every other command on a closed order except
  reopen is refused.
- A self-service report by a resident is owned by the resident until customer service
  takes it over with transfer-owner, so a work order always has exactly one owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

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
    Reopen,
    ReportProgress,
    ReportWorkOrder,
    Resume,
    ScheduleAppointment,
    StartWork,
    TransferOwner,
)
from services.dispatch.domain.permissions import Actor, authorize
from services.dispatch.domain.workorder_state import (
    OPEN_STATUSES,
    Status,
    UnfoldableEvent,
    WorkOrderState,
    evolve,
    fold,
)
from shared.auth import Role
from shared.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from shared.events.base import EventData
from shared.events.workorder import (
    AppointmentMissed,
    AppointmentScheduled,
    ArrivalDelayAgreed,
    Arrived,
    Assigned,
    Cancelled,
    Closed,
    CommitmentMade,
    ComplaintValidityMarked,
    Completed,
    FeedbackGiven,
    FollowUpRecorded,
    OwnerTransferred,
    Postponed,
    PostponementOverrideGranted,
    ProgressReported,
    Reassigned,
    Reopened,
    WorkOrderKind,
    WorkOrderReported,
    WorkPaused,
    WorkResumed,
    WorkStarted,
)

__all__ = [
    "MAX_COMMITMENT",
    "Actor",
    "Status",
    "UnfoldableEvent",
    "WorkOrderState",
    "decide",
    "evolve",
    "fold",
]

MAX_COMMITMENT = timedelta(days=7)
"""The longest resolution time promised without a manager's approval (一般不超过一周)."""

_NOT_ENDED = frozenset(Status) - {Status.CLOSED, Status.CANCELLED}
_BEFORE_ARRIVAL = frozenset({Status.REPORTED, Status.ASSIGNED})
_WITH_TECHNICIAN = frozenset({Status.ASSIGNED, Status.ON_SITE, Status.IN_PROGRESS, Status.PAUSED})
_AT_WORK = frozenset({Status.ON_SITE, Status.IN_PROGRESS})
# Complaints and suggestions are handled by talking to people, not by a site visit.
_NO_VISIT_KINDS = frozenset({WorkOrderKind.COMPLAINT, WorkOrderKind.SUGGESTION})


def decide(
    state: WorkOrderState | None, command: Command, actor: Actor, now: datetime
) -> list[EventData]:
    """The events `command` by `actor` at `now` produces on the work order in `state`.

    `state` is None only for `ReportWorkOrder`. Raises `Forbidden`, `InvalidTransition`
    (with `current_status`), `InvalidInput`, `Conflict` or `NotFound`.
    """
    if isinstance(command, ReportWorkOrder):
        if state is not None:
            raise Conflict("this work order was already reported", code="work_order_exists")
        authorize(command, actor, None)
        return [_report(command, actor)]
    if state is None:
        raise NotFound("no such work order", code="unknown_work_order")
    authorize(command, actor, state)
    return _decide_on(state, command, actor, now)


def _report(command: ReportWorkOrder, actor: Actor) -> WorkOrderReported:
    reporter = command.reporter
    if actor.role is Role.RESIDENT and reporter.resident_id is None:
        # Ties the order to the resident's login so they can follow and rate it.
        reporter = reporter.model_copy(update={"resident_id": actor.subject})
    return WorkOrderReported(
        kind=command.kind,
        category=command.category,
        urgency=command.urgency,
        location=command.location,
        reporter=reporter,
        channel=command.channel,
        description=command.description,
        owner=command.owner or actor.subject,
    )


def _decide_on(
    state: WorkOrderState, command: Command, actor: Actor, now: datetime
) -> list[EventData]:
    match command:
        case TransferOwner():
            _require(state, command, _NOT_ENDED)
            if command.to_owner == state.owner:
                raise InvalidInput(f"{state.owner} already owns it", code="same_owner")
            return [
                OwnerTransferred(
                    from_owner=state.owner, to_owner=command.to_owner, reason=command.reason
                )
            ]
        case Assign():
            _require(state, command, {Status.REPORTED})
            if state.assignee is not None:
                _refuse(state, command, "it is already assigned; use reassign", "already_assigned")
            return [Assigned(assignee=command.assignee)]
        case Reassign():
            _require(state, command, _WITH_TECHNICIAN)
            if state.assignee is None:
                _refuse(state, command, "nobody is assigned; use assign", "not_assigned")
            if command.to_assignee == state.assignee:
                raise InvalidInput(
                    f"it is already assigned to {state.assignee}", code="same_assignee"
                )
            return [
                Reassigned(
                    from_assignee=state.assignee,
                    to_assignee=command.to_assignee,
                    reason=command.reason,
                )
            ]
        case AgreeArrivalDelay():
            _require(state, command, _BEFORE_ARRIVAL)
            _require_future(command.agreed_arrival_at, now, "the agreed arrival time")
            return [
                ArrivalDelayAgreed(
                    agreed_arrival_at=command.agreed_arrival_at, reason=command.reason
                )
            ]
        case Arrive():
            _require(state, command, {Status.ASSIGNED})
            technician = actor.subject if actor.role is Role.TECHNICIAN else state.assignee
            return [Arrived(technician=technician or actor.subject)]
        case ScheduleAppointment():
            _require(state, command, _BEFORE_ARRIVAL)
            _require_future(command.appointment_at, now, "the appointment")
            return [AppointmentScheduled(appointment_at=command.appointment_at, note=command.note)]
        case MissAppointment():
            _require(state, command, _BEFORE_ARRIVAL)
            if state.appointment_at is None:
                _refuse(state, command, "no appointment is booked", "no_appointment")
            return [AppointmentMissed(appointment_at=state.appointment_at, note=command.note)]
        case StartWork():
            _require(state, command, {Status.ON_SITE})
            return [WorkStarted()]
        case Pause():
            _require(state, command, {Status.IN_PROGRESS})
            return [WorkPaused(reason=command.reason, note=command.note)]
        case Resume():
            _require(state, command, {Status.PAUSED})
            return [WorkResumed()]
        case MakeCommitment():
            return [_commit(state, command, actor, now)]
        case Postpone():
            return _postpone(state, command, actor, now)
        case ReportProgress():
            _require(state, command, OPEN_STATUSES)
            return [ProgressReported(note=command.note)]
        case Complete():
            at_work = _AT_WORK | _BEFORE_ARRIVAL if state.kind in _NO_VISIT_KINDS else _AT_WORK
            _require(state, command, at_work)
            return [Completed(summary=command.summary)]
        case GiveFeedback():
            _require(state, command, _NOT_ENDED)
            return [FeedbackGiven(message=command.message)]
        case RecordFollowUp():
            _require(state, command, {Status.COMPLETED})
            return [FollowUpRecorded(rating=command.rating, comment=command.comment)]
        case Close():
            _require(state, command, {Status.COMPLETED})
            return [Closed()]
        case Reopen():
            _require(state, command, {Status.COMPLETED, Status.CLOSED})
            return [Reopened(reason=command.reason)]
        case Cancel():
            _require(state, command, OPEN_STATUSES)
            return [Cancelled(reason=command.reason)]
        case MarkComplaint():
            if state.kind is not WorkOrderKind.COMPLAINT:
                raise InvalidInput(
                    f"only complaints are ruled valid or not; this is a {state.kind.value}",
                    code="not_a_complaint",
                )
            _require(state, command, frozenset(Status) - {Status.CANCELLED})
            return [ComplaintValidityMarked(valid=command.valid, reason=command.reason)]
    raise InvalidInput(f"{command.name!r} is not a work-order command", code="unknown_command")


def _commit(
    state: WorkOrderState, command: MakeCommitment, actor: Actor, now: datetime
) -> CommitmentMade:
    _require(state, command, OPEN_STATUSES)
    if state.commitment_due_at is not None:
        _refuse(
            state,
            command,
            f"a resolution time is already promised ({state.commitment_due_at.isoformat()}); "
            "to change it, postpone",
            "commitment_exists",
        )
    _require_future(command.due_at, now, "the promised time")
    if command.due_at - now <= MAX_COMMITMENT:
        return CommitmentMade(due_at=command.due_at)
    if not command.override_reason:
        raise InvalidInput(
            "a promise may be at most 7 days ahead (承诺时间一般不超过一周) unless a supervisor "
            "or project manager gives an override reason",
            code="commitment_too_far",
        )
    # authorize() already refused override reasons from anyone but supervisors and managers.
    return CommitmentMade(due_at=command.due_at, approved_by=actor.subject)


def _postpone(
    state: WorkOrderState, command: Postpone, actor: Actor, now: datetime
) -> list[EventData]:
    _require(state, command, OPEN_STATUSES)
    due = state.commitment_due_at
    if due is None:
        _refuse(state, command, "no resolution time was promised yet", "no_commitment")
    if now >= due:
        _refuse(
            state,
            command,
            f"the promised time {due.isoformat()} has passed; the resident must be told "
            "before the deadline (因故未能在承诺时间内处理的应及时通知对方)",
            "deadline_passed",
        )
    if command.new_due_at <= due:
        raise InvalidInput(
            f"the new time must be later than the promised {due.isoformat()}", code="not_later"
        )
    events: list[EventData] = []
    if state.postponements >= 1:
        if not command.override_reason:
            _refuse(
                state,
                command,
                "it was already postponed once and the same matter may not be postponed "
                "twice (不得两次推迟); a supervisor or project manager may override with "
                "override_reason",
                "second_postponement",
            )
        events.append(
            PostponementOverrideGranted(granted_by=actor.subject, reason=command.override_reason)
        )
    events.append(
        Postponed(
            previous_due_at=due,
            new_due_at=command.new_due_at,
            reason=command.reason,
            postponement_number=state.postponements + 1,
        )
    )
    return events


def _require(
    state: WorkOrderState, command: Command, allowed: frozenset[Status] | set[Status]
) -> None:
    if state.status in allowed:
        return
    listed = ", ".join(s.value for s in Status if s in allowed)
    raise InvalidTransition(
        f"cannot {_verb(command)}: work order is '{state.status.value}' (allowed from: {listed})",
        current_status=state.status.value,
    )


def _refuse(state: WorkOrderState, command: Command, why: str, code: str) -> NoReturn:
    raise InvalidTransition(
        f"cannot {_verb(command)}: {why} (work order is '{state.status.value}')",
        code=code,
        current_status=state.status.value,
    )


def _require_future(at: datetime, now: datetime, what: str) -> None:
    if at <= now:
        raise InvalidInput(f"{what} must be in the future", code="not_in_future")


def _verb(command: Command) -> str:
    return command.name.replace("-", " ")
