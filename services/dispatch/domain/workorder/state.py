"""A work order's state (工单状态): the fold of its events.

`evolve` applies one event without judging it: events are facts already decided by
`workorder.decide`, so the only thing it refuses is a stream that cannot be a work order
(no report first, a second report, or an event of another aggregate).

Reopening starts a new cycle: arrival, appointment, no-visit-needed, commitment,
completion and closing are cleared, while the postponement count is kept, because the
rule "never postpone the same matter twice" (不得出现同一件事情有两次推迟处理) still applies
to a problem that came back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import Enum, StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel

from shared.events.base import EventData
from shared.events.sla import (
    ClockName,
    SlaClockCancelled,
    SlaClockEvent,
    SlaClockMet,
    SlaClockPaused,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
)
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
    Channel,
    Closed,
    CommitmentMade,
    ComplaintValidityMarked,
    Completed,
    DispatchPending,
    FeedbackGiven,
    FollowUpRecorded,
    Location,
    NoVisitNeeded,
    Offered,
    OfferExpired,
    OwnerTransferred,
    PauseReason,
    Postponed,
    PostponementOverrideGranted,
    ProgressReported,
    Reassigned,
    Reopened,
    Reporter,
    Urgency,
    UrgencyChanged,
    WorkOrderKind,
    WorkOrderReported,
    WorkPaused,
    WorkResumed,
    WorkStarted,
)


class Status(StrEnum):
    """Where a work order is in its life."""

    REPORTED = "reported"
    ASSIGNED = "assigned"
    ON_SITE = "on_site"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.REPORTED, Status.ASSIGNED, Status.ON_SITE, Status.IN_PROGRESS, Status.PAUSED}
)
"""The statuses of a work order someone still has to act on."""


class UnfoldableEvent(ValueError):
    """An event stream that cannot be a work order's; a bug or a corrupt store, never a user."""


@dataclass(frozen=True)
class WorkOrderState:
    """Everything decisions and the API need to know about one work order.

    `version` is the number of events folded, i.e. the stream version of the last one.
    """

    kind: WorkOrderKind
    category: str
    urgency: Urgency
    status: Status
    owner: str
    reporter: Reporter
    location: Location
    description: str
    channel: Channel
    reported_at: datetime
    updated_at: datetime
    received_at: datetime | None = None
    """When the request came in: the report's `received_at`, else when it was recorded."""
    assignee: str | None = None
    assigned_at: datetime | None = None
    appointment_at: datetime | None = None
    agreed_arrival_at: datetime | None = None
    arrived_at: datetime | None = None
    commitment_due_at: datetime | None = None
    commitment_approved_by: str | None = None
    postponements: int = 0
    postponement_overrides: int = 0
    pause_reason: PauseReason | None = None
    last_progress_at: datetime | None = None
    last_feedback_at: datetime | None = None
    completed_at: datetime | None = None
    last_rating: int | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    reopen_count: int = 0
    complaint_valid: bool | None = None
    offered_to: tuple[str, ...] = ()
    """Technicians holding an open offer of the work (assignment.py)."""
    offer_attempt: int = 0
    """Offers made since the report (or the last dispatcher's assignment)."""
    offer_expires_at: datetime | None = None
    tried: tuple[str, ...] = ()
    """Everyone offered the work so far; a re-offer goes to someone else."""
    dispatch_pending: bool = False
    """In the pending-dispatch queue (待派单) until someone is assigned."""
    no_visit_needed_by: str | None = None
    """Who recorded that nobody needs to go (a complaint or suggestion settled by talking)."""
    arrival_due_at: datetime | None = None
    """The arrival deadline in force while the arrival clock runs (from its SLA events):
    a delay can be agreed only before it."""
    number: str | None = None
    """The number people read (`numbering`); None for orders reported before numbers."""
    version: int = 1

    @property
    def is_open(self) -> bool:
        """True while someone still has to act (not completed, closed or cancelled)."""
        return self.status in OPEN_STATUSES

    def summary(self) -> dict[str, Any]:
        """Every field as JSON-able values: the API's representation of a work order."""
        return {name: _jsonable(getattr(self, name)) for name in _field_names()}


@cache
def _field_names() -> tuple[str, ...]:
    # dataclasses.fields() walks the class each call; the API asks on every request.
    return tuple(f.name for f in fields(WorkOrderState))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return list(value)
    return value


def evolve(state: WorkOrderState | None, event: EventData, occurred_at: datetime) -> WorkOrderState:
    """Apply one event to the state (None before the first); the version grows by one."""
    if state is None:
        if not isinstance(event, WorkOrderReported):
            raise UnfoldableEvent(f"a work order starts with a report, not {event.type_name}")
        return WorkOrderState(
            kind=event.kind,
            category=event.category,
            urgency=event.urgency,
            status=Status.REPORTED,
            owner=event.owner,
            reporter=event.reporter,
            location=event.location,
            description=event.description,
            channel=event.channel,
            reported_at=occurred_at,
            updated_at=occurred_at,
            received_at=event.received_at or occurred_at,
            number=event.number,
        )
    # One copy of the state an event: the changes are gathered first, then applied with
    # the version and time (the fold runs for every event of every command).
    changes = _changes(state, event, occurred_at)
    return replace(state, **changes, version=state.version + 1, updated_at=occurred_at)


_NOBODY_TO_SEND: dict[str, Any] = {
    "offered_to": (),
    "offer_expires_at": None,
    "dispatch_pending": False,
}
"""The changes that end a work order's open offers and take it out of the pending queue."""


def _changes(state: WorkOrderState, event: EventData, at: datetime) -> dict[str, Any]:
    """What `event` changes in `state`, field by field."""
    match event:
        case OwnerTransferred(to_owner=to_owner):
            return dict(owner=to_owner)
        case Assigned(assignee=assignee):
            # An assignment, by acceptance or by a dispatcher, ends every open offer.
            return dict(_NOBODY_TO_SEND, assignee=assignee, assigned_at=at, status=Status.ASSIGNED)
        case Offered(attempt=attempt, expires_at=expires_at, offers=offers):
            named = tuple(offer.technician for offer in offers)
            return dict(
                offered_to=named,
                offer_attempt=attempt,
                offer_expires_at=expires_at,
                tried=state.tried + tuple(n for n in named if n not in state.tried),
            )
        case AssignmentAccepted():
            return dict(offered_to=(), offer_expires_at=None)
        case AssignmentDeclined(technician=technician):
            left = tuple(name for name in state.offered_to if name != technician)
            return dict(offered_to=left, offer_expires_at=state.offer_expires_at if left else None)
        case OfferExpired():
            return dict(offered_to=(), offer_expires_at=None)
        case DispatchPending():
            return dict(dispatch_pending=True, offered_to=(), offer_expires_at=None)
        case Reassigned(to_assignee=to_assignee):
            return dict(assignee=to_assignee, assigned_at=at)
        case AssignmentReturned(technician=technician):
            # Back to dispatch: offered afresh, never to the one who gave it back.
            return dict(
                _NOBODY_TO_SEND,
                assignee=None,
                assigned_at=None,
                status=Status.REPORTED,
                pause_reason=None,
                offer_attempt=0,
                tried=(*state.tried, technician) if technician not in state.tried else state.tried,
            )
        case ArrivalDelayAgreed(agreed_arrival_at=agreed):
            return dict(agreed_arrival_at=agreed)
        case Arrived():
            return dict(arrived_at=at, status=Status.ON_SITE)
        case AppointmentScheduled(appointment_at=appointment_at):
            return dict(appointment_at=appointment_at)
        case AppointmentMissed():
            # The resident has to book again; until then there is no appointment.
            return dict(appointment_at=None)
        case NoVisitNeeded(recorded_by=recorded_by):
            # Nobody is to be sent any more: the offers end and it leaves the queue.
            return dict(_NOBODY_TO_SEND, no_visit_needed_by=recorded_by)
        case WorkStarted():
            return dict(status=Status.IN_PROGRESS)
        case WorkPaused(reason=reason):
            return dict(status=Status.PAUSED, pause_reason=reason)
        case WorkResumed():
            return dict(status=Status.IN_PROGRESS, pause_reason=None)
        case CommitmentMade(due_at=due_at, approved_by=approved_by):
            return dict(commitment_due_at=due_at, commitment_approved_by=approved_by)
        case PostponementOverrideGranted():
            return dict(postponement_overrides=state.postponement_overrides + 1)
        case Postponed(new_due_at=new_due_at, postponement_number=number):
            return dict(commitment_due_at=new_due_at, postponements=number)
        case ProgressReported():
            return dict(last_progress_at=at)
        case Completed():
            # A complaint may be settled while still offered or queued: nobody is to be
            # sent any more, so the offers end and it leaves the queue.
            return dict(
                _NOBODY_TO_SEND, status=Status.COMPLETED, completed_at=at, pause_reason=None
            )
        case FeedbackGiven():
            return dict(last_feedback_at=at)
        case FollowUpRecorded(rating=rating):
            return dict(last_rating=rating)
        case Closed():
            return dict(status=Status.CLOSED, closed_at=at)
        case Reopened():
            return _reopened(state)
        case Cancelled():
            return dict(
                _NOBODY_TO_SEND, status=Status.CANCELLED, cancelled_at=at, pause_reason=None
            )
        case ComplaintValidityMarked(valid=valid):
            return dict(complaint_valid=valid)
        case UrgencyChanged(to_urgency=to_urgency):
            return dict(urgency=to_urgency)
        case SlaClockEvent():
            # The clocks' own facts live on the same stream; only the arrival deadline is
            # kept here, because whether a delay may still be agreed depends on it.
            return _arrival_deadline(state, event)
        case WorkOrderReported():
            raise UnfoldableEvent("a work order is reported only once")
        case _:
            raise UnfoldableEvent(f"{event.type_name} is not a work-order event")


def _arrival_deadline(state: WorkOrderState, event: SlaClockEvent) -> dict[str, Any]:
    if event.clock is not ClockName.ARRIVAL:
        return {}
    match event:
        case SlaClockStarted(due_at=due) | SlaClockResumed(due_at=due):
            return dict(arrival_due_at=due)
        case SlaClockRecalculated(due_at=due):
            # While paused no deadline runs; the resume sets it again.
            return {} if state.arrival_due_at is None else dict(arrival_due_at=due)
        case SlaClockPaused() | SlaClockMet() | SlaClockCancelled():
            return dict(arrival_due_at=None)
    return {}  # a warning, breach or step moves no deadline


def _reopened(state: WorkOrderState) -> dict[str, Any]:
    # A reopened order keeps its technician (返修 goes back to whoever did the work). One
    # that never had one is dispatched afresh: earlier offers neither count as attempts
    # nor keep anyone out.
    return dict(
        _NOBODY_TO_SEND,
        offer_attempt=0,
        tried=(),
        status=Status.ASSIGNED if state.assignee is not None else Status.REPORTED,
        reopen_count=state.reopen_count + 1,
        appointment_at=None,
        agreed_arrival_at=None,
        no_visit_needed_by=None,
        arrived_at=None,
        commitment_due_at=None,
        commitment_approved_by=None,
        completed_at=None,
        closed_at=None,
    )


def fold(events: Iterable[tuple[EventData, datetime]]) -> WorkOrderState | None:
    """The state after all `(event, occurred_at)` pairs, or None for an empty stream."""
    state: WorkOrderState | None = None
    for event, occurred_at in events:
        state = evolve(state, event, occurred_at)
    return state
