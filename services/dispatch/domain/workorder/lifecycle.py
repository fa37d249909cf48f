"""Deciding what a command does to a work order (工单): the lifecycle rules.

`decide` checks the actor's permission (`permissions.authorize`), then the current status,
then the values, and returns the events to append; it never reads the wall clock.

    reported ─assign─▶ assigned ─arrive─▶ on_site ─start-work─▶ in_progress ⇄ paused
    on_site, in_progress ─complete─▶ completed  (complaints, suggestions: also from
                                                 reported and assigned: no visit needed)
    completed ─close─▶ closed;  completed, closed ─reopen─▶ assigned (reported if unassigned)
    reported … paused ─cancel─▶ cancelled, after which nothing is allowed

The promised resolution time and its one postponement are decided in `commitment`.

Choices where the brief was silent:
- A complaint's validity may still be ruled on after the order is closed (the
  supervisor's review often comes last); every other command on a closed order except
  reopen is refused.
- A self-service report by a resident is owned by the first receiver the service layer
  found for it (`assignment.first_receiver`: customer service on duty, else the project's
  designated receiver), never by the resident; with nobody to receive it the report is
  refused (`no_receiver`). A resident who leaves `reporter.resident_id` out gets their
  own login filled in.
- Appointments may be rebooked and arrival delays agreed again any time before arrival.
- Follow-up visits may be recorded more than once while completed; the last rating counts.
- When a supervisor records an arrival, the assigned technician is named as the one who came.
- Urgency may change in any open status; a completed order has no running promise to hurry.
- A technician may hand work back (退单) or ask for a transfer (转单) in any status with a
  technician, also after arriving (the job may need another trade); both return it to
  dispatch, which re-offers it to others (attempts counted afresh) or queues it.
"""

from __future__ import annotations

from datetime import datetime

from services.dispatch.domain.commands import (
    AcceptOffer,
    AgreeArrivalDelay,
    Arrive,
    Assign,
    Cancel,
    ChangeUrgency,
    Close,
    Command,
    Complete,
    DeclineOffer,
    GiveFeedback,
    HandBack,
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
    RequestTransfer,
    Resume,
    ScheduleAppointment,
    StartWork,
    TransferOwner,
    published,
)
from services.dispatch.domain.workorder.commitment import (
    MAX_COMMITMENT,
    decide_commitment,
    decide_postponement,
)
from services.dispatch.domain.workorder.permissions import Actor, authorize
from services.dispatch.domain.workorder.refusals import (
    no_receiver,
    refuse,
    require_future,
    require_status,
)
from services.dispatch.domain.workorder.state import (
    OPEN_STATUSES,
    Status,
    UnfoldableEvent,
    WorkOrderState,
    evolve,
    fold,
)
from shared.auth import Role
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.base import EventData
from shared.events.workorder import (
    AppointmentMissed,
    AppointmentScheduled,
    ArrivalDelayAgreed,
    Arrived,
    Assigned,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentReturned,
    Cancelled,
    Closed,
    ComplaintValidityMarked,
    Completed,
    FeedbackGiven,
    FollowUpRecorded,
    Location,
    NoVisitNeeded,
    OwnerTransferred,
    ProgressReported,
    Reassigned,
    Reopened,
    Reporter,
    ReturnKind,
    UrgencyChanged,
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

_NOT_ENDED = frozenset(Status) - {Status.CLOSED, Status.CANCELLED}
_BEFORE_ARRIVAL = frozenset({Status.REPORTED, Status.ASSIGNED})
_WITH_TECHNICIAN = frozenset({Status.ASSIGNED, Status.ON_SITE, Status.IN_PROGRESS, Status.PAUSED})
_AT_WORK = frozenset({Status.ON_SITE, Status.IN_PROGRESS})
# Complaints and suggestions are handled by talking to people, not by a site visit.
_NO_VISIT_KINDS = frozenset({WorkOrderKind.COMPLAINT, WorkOrderKind.SUGGESTION})


def decide(
    state: WorkOrderState | None,
    command: Command,
    actor: Actor,
    now: datetime,
    receiver: str | None = None,
) -> list[EventData]:
    """The events `command` by `actor` at `now` produces on the work order in `state`.

    `state` is None only for `ReportWorkOrder`; `receiver` is then who receives a
    resident's own report (`assignment.first_receiver`), None when nobody does. Raises
    `Forbidden`, `InvalidTransition` (with `current_status`), `InvalidInput`, `Conflict`
    or `NotFound`.
    """
    if isinstance(command, ReportWorkOrder):
        if state is not None:
            raise Conflict("this work order was already reported", code="work_order_exists")
        authorize(command, actor, None)
        return [_report(command, actor, now, receiver)]
    if state is None:
        raise NotFound("no such work order", code="unknown_work_order")
    authorize(command, actor, state)
    return _decide_on(state, command, actor, now)


def _report(
    command: ReportWorkOrder, actor: Actor, now: datetime, receiver: str | None
) -> WorkOrderReported:
    reporter = published(command.reporter, Reporter)
    owner = command.owner or actor.subject
    if actor.role is Role.RESIDENT:
        # 首按责任制: the owner answers to the resident, so it is an employee, never
        # the resident who reported (who would then receive the staff's alerts).
        if receiver is None:
            raise no_receiver(command.project)
        owner = receiver
        if reporter.resident_id is None:
            # Ties the order to the resident's login so they can follow and rate it.
            reporter = reporter.model_copy(update={"resident_id": actor.subject})
    received_at = command.received_at
    if received_at is not None and received_at > now:
        raise InvalidInput(
            "received_at is when the request came in; it cannot be in the future",
            code="received_in_future",
        )
    return WorkOrderReported(
        received_at=received_at,
        received_at_entered_by=actor.subject if received_at is not None else None,
        kind=command.kind,
        category=command.category,
        urgency=command.urgency,
        location=published(command.location, Location),
        reporter=reporter,
        channel=command.channel,
        description=command.description,
        owner=owner,
    )


def _answer_offer(
    state: WorkOrderState, command: AcceptOffer | DeclineOffer, actor: Actor
) -> list[EventData]:
    """A technician's answer to an offer: only while it is open and theirs."""
    if state.assignee is not None:
        taken = "you" if state.assignee == actor.subject else "someone else"
        refuse(state, command, f"the work was already taken by {taken}", "offer_taken")
    if actor.subject not in state.offered_to:
        refuse(state, command, "you hold no open offer of this work", "no_open_offer")
    if isinstance(command, DeclineOffer):
        return [
            AssignmentDeclined(
                technician=actor.subject, attempt=state.offer_attempt, reason=command.reason
            )
        ]
    withdrawn = tuple(name for name in state.offered_to if name != actor.subject)
    return [
        AssignmentAccepted(
            technician=actor.subject, attempt=state.offer_attempt, withdrawn=withdrawn
        ),
        Assigned(assignee=actor.subject),
    ]


def _require_arrival_not_overdue(
    state: WorkOrderState, command: AgreeArrivalDelay, now: datetime
) -> None:
    """A delay is agreed before the arrival deadline (若无法在三分钟赶到,应事先跟客户解释,
    取得客户的谅解): after it the promise is already broken, and the resident must not be
    told of an agreement that came too late. At the due instant itself it is still in time.
    """
    due = state.arrival_due_at
    if due is not None and now > due:
        refuse(
            state,
            command,
            f"the arrival deadline {due.isoformat()} has passed; a delay is agreed with the "
            "resident beforehand",
            "deadline_passed",
        )


def _no_visit_needed(
    state: WorkOrderState, command: RecordNoVisitNeeded, actor: Actor
) -> NoVisitNeeded:
    """三分钟服务承诺 holds where someone must go to the place the resident named; a complaint
    or suggestion settled at the desk or on the phone needs nobody there. Repairs and
    cleaning always need someone on site.
    """
    if state.kind not in _NO_VISIT_KINDS:
        raise InvalidInput(
            f"a {state.kind.value} needs someone on site; only complaints and suggestions "
            "may be settled without a visit",
            code="visit_required",
        )
    require_status(state, command, _BEFORE_ARRIVAL)
    if state.no_visit_needed_by is not None:
        refuse(
            state,
            command,
            f"{state.no_visit_needed_by} already recorded that no visit is needed",
            "no_visit_already_recorded",
        )
    return NoVisitNeeded(recorded_by=actor.subject, reason=command.reason)


def _decide_on(
    state: WorkOrderState, command: Command, actor: Actor, now: datetime
) -> list[EventData]:
    match command:
        case TransferOwner():
            require_status(state, command, _NOT_ENDED)
            if command.to_owner == state.owner:
                raise InvalidInput(f"{state.owner} already owns it", code="same_owner")
            return [
                OwnerTransferred(
                    from_owner=state.owner, to_owner=command.to_owner, reason=command.reason
                )
            ]
        case Assign():
            require_status(state, command, {Status.REPORTED})
            if state.assignee is not None:
                refuse(state, command, "it is already assigned; use reassign", "already_assigned")
            return [Assigned(assignee=command.assignee)]
        case AcceptOffer() | DeclineOffer():
            return _answer_offer(state, command, actor)
        case Reassign():
            require_status(state, command, _WITH_TECHNICIAN)
            if state.assignee is None:
                refuse(state, command, "nobody is assigned; use assign", "not_assigned")
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
        case HandBack() | RequestTransfer():
            require_status(state, command, _WITH_TECHNICIAN)
            assert state.assignee is not None  # every status with a technician names one
            kind = ReturnKind.HAND_BACK if isinstance(command, HandBack) else ReturnKind.TRANSFER
            return [AssignmentReturned(technician=state.assignee, kind=kind, reason=command.reason)]
        case AgreeArrivalDelay():
            require_status(state, command, _BEFORE_ARRIVAL)
            require_future(command.agreed_arrival_at, now, "the agreed arrival time")
            _require_arrival_not_overdue(state, command, now)
            return [
                ArrivalDelayAgreed(
                    agreed_arrival_at=command.agreed_arrival_at, reason=command.reason
                )
            ]
        case Arrive():
            require_status(state, command, {Status.ASSIGNED})
            technician = actor.subject if actor.role is Role.TECHNICIAN else state.assignee
            return [Arrived(technician=technician or actor.subject)]
        case ScheduleAppointment():
            require_status(state, command, _BEFORE_ARRIVAL)
            require_future(command.appointment_at, now, "the appointment")
            return [AppointmentScheduled(appointment_at=command.appointment_at, note=command.note)]
        case MissAppointment():
            require_status(state, command, _BEFORE_ARRIVAL)
            if state.appointment_at is None:
                refuse(state, command, "no appointment is booked", "no_appointment")
            if now < state.appointment_at:
                # 在业户预约的时间上门而家中无人: nobody can be missed before the time comes,
                # and the resident would be told nobody was home at a time still ahead.
                refuse(
                    state,
                    command,
                    f"the appointment at {state.appointment_at.isoformat()} has not come yet",
                    "appointment_not_due",
                )
            return [AppointmentMissed(appointment_at=state.appointment_at, note=command.note)]
        case RecordNoVisitNeeded():
            return [_no_visit_needed(state, command, actor)]
        case StartWork():
            require_status(state, command, {Status.ON_SITE})
            return [WorkStarted()]
        case Pause():
            require_status(state, command, {Status.IN_PROGRESS})
            return [WorkPaused(reason=command.reason, note=command.note)]
        case Resume():
            require_status(state, command, {Status.PAUSED})
            return [WorkResumed()]
        case MakeCommitment():
            return [decide_commitment(state, command, actor, now)]
        case Postpone():
            return decide_postponement(state, command, actor, now)
        case ReportProgress():
            require_status(state, command, OPEN_STATUSES)
            return [ProgressReported(note=command.note)]
        case Complete():
            at_work = _AT_WORK | _BEFORE_ARRIVAL if state.kind in _NO_VISIT_KINDS else _AT_WORK
            require_status(state, command, at_work)
            return [Completed(summary=command.summary)]
        case GiveFeedback():
            require_status(state, command, _NOT_ENDED)
            return [FeedbackGiven(message=command.message)]
        case RecordFollowUp():
            require_status(state, command, {Status.COMPLETED})
            return [FollowUpRecorded(rating=command.rating, comment=command.comment)]
        case Close():
            require_status(state, command, {Status.COMPLETED})
            return [Closed()]
        case Reopen():
            require_status(state, command, {Status.COMPLETED, Status.CLOSED})
            return [Reopened(reason=command.reason)]
        case Cancel():
            require_status(state, command, OPEN_STATUSES)
            return [Cancelled(reason=command.reason)]
        case MarkComplaint():
            if state.kind is not WorkOrderKind.COMPLAINT:
                raise InvalidInput(
                    f"only complaints are ruled valid or not; this is a {state.kind.value}",
                    code="not_a_complaint",
                )
            require_status(state, command, frozenset(Status) - {Status.CANCELLED})
            return [ComplaintValidityMarked(valid=command.valid, reason=command.reason)]
        case ChangeUrgency():
            require_status(state, command, OPEN_STATUSES)
            if command.urgency is state.urgency:
                raise InvalidInput(
                    f"the work order is already {state.urgency.value}", code="same_urgency"
                )
            return [
                UrgencyChanged(
                    from_urgency=state.urgency, to_urgency=command.urgency, reason=command.reason
                )
            ]
    raise InvalidInput(f"{command.name!r} is not a work-order command", code="unknown_command")
