"""Version 1 of the work-order events (工单事件), the public contract for integrators.

The subject of each event's envelope is the work-order id; tenant and project are
envelope attributes, and the actor who caused it is the `actor` extension.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.base import EventData

Text = Annotated[str, Field(min_length=1, max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
PersonId = Annotated[str, Field(min_length=1, max_length=128)]


class WorkOrderKind(StrEnum):
    """What the resident asked for: 报修, 投诉, 建议 or 保洁."""

    REPAIR = "repair"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    CLEANING = "cleaning"


class Urgency(StrEnum):
    """Urgent orders skip quiet hours and load limits."""

    NORMAL = "normal"
    URGENT = "urgent"


class Channel(StrEnum):
    """How the report reached the property office."""

    PHONE = "phone"
    APP = "app"
    WECHAT = "wechat"
    WALK_IN = "walk_in"
    PATROL = "patrol"


class PauseReason(StrEnum):
    """Why work stopped; the SLA engine decides from it whether the clock pauses."""

    WAITING_FOR_PARTS = "waiting_for_parts"
    RESIDENT_ABSENT = "resident_absent"
    RESIDENT_ASKED_TO_WAIT = "resident_asked_to_wait"
    OTHER = "other"


def _personal(how: str, description: str) -> dict[str, Any]:
    """A personal field's schema: how it is protected (`x-personal-data`) and what it holds."""
    return {"description": description, "json_schema_extra": {"x-personal-data": how}}


Sealed = dict[str, Annotated[str, Field(max_length=4096)]]
"""Personal fields as tokens (`pd1.<generation>.<base64url>`) under the resident's key."""


class Location(BaseModel):
    """Where the work is, inside the envelope's project: building (楼栋) and unit (单元/户).

    The unit and detail name a household: reported events carry their masks, the clear
    values sealed under `sealed` (docs/events.md, "Personal data")."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    building: ShortText | None = None
    unit: ShortText | None = Field(
        default=None,
        **_personal("masked", "The unit (单元/户), masked (`*-****`); clear before sealing."),
    )
    detail: Annotated[str, Field(max_length=500)] | None = Field(
        default=None,
        **_personal("masked", "Where in the unit, masked like an address."),
    )
    sealed: Sealed | None = Field(
        default=None,
        **_personal(
            "sealed",
            "`unit` and `detail` in clear, each a token sealed under the resident's data "
            "key (absent for a field with no value); unreadable once the resident is erased.",
        ),
    )


class Reporter(BaseModel):
    """The person who reported; `resident_id` ties the order to a resident's login.

    Reported events name the reporter by `resident`, a pseudonymous reference, and carry
    masks of their name and phone, the clear values sealed under `sealed`. Events recorded
    before sealing have neither and hold the clear values."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ShortText = Field(
        **_personal("masked", "The reporter's name, masked (`王*`); clear before sealing.")
    )
    phone: Annotated[str, Field(max_length=32)] | None = Field(
        default=None,
        **_personal("masked", "The reporter's phone, masked (`138****0000`), or null."),
    )
    resident_id: PersonId | None = None
    resident: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        **_personal(
            "pseudonym",
            "The resident's pseudonymous reference (`rsd_` and 24 base32 characters): "
            "stable per tenant and resident, reveals nothing about who it is.",
        ),
    )
    sealed: Sealed | None = Field(
        default=None,
        **_personal(
            "sealed",
            "`name` and `phone` in clear, each a token sealed under the resident's data "
            "key (`phone` absent when none was given); unreadable once the resident is erased.",
        ),
    )


class WorkOrderReported(EventData):
    """A work order was received; `owner` is the first receiver (首按责任制).

    `received_at` is when the request came in (the call, the visit to the desk) when staff
    entered it later, with `received_at_entered_by` the one who entered that time; the SLA
    clocks run from it. Absent (as in events recorded before the field existed): the
    request was received when the event was recorded.
    """

    type_name = "workorder.reported"

    kind: WorkOrderKind
    category: ShortText
    urgency: Urgency
    location: Location
    reporter: Reporter
    channel: Channel
    description: Text
    owner: PersonId
    received_at: AwareDatetime | None = None
    received_at_entered_by: PersonId | None = None
    number: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        description=(
            "The work order's number as people read it (SG-20261201-0042): the project's "
            "code, the local day of the report, the day's sequence in the project. Unique "
            "per project. Absent in events recorded before numbers existed."
        ),
    )
    project_name: ShortText | None = Field(
        default=None, description="The project's registered name at the time of the report."
    )
    building_name: ShortText | None = Field(
        default=None,
        description="The registered name of `location.building`, when the project lists it.",
    )
    owner_name: ShortText | None = Field(
        default=None,
        description="The owner's name in the staff directory (staff data, not the resident's).",
    )


class OwnerTransferred(EventData):
    """Ownership moved to another staff member by an explicit transfer."""

    type_name = "workorder.owner_transferred"

    from_owner: PersonId
    to_owner: PersonId
    reason: Text
    to_owner_name: ShortText | None = Field(
        default=None, description="The new owner's name in the staff directory."
    )


class Assigned(EventData):
    """A technician (维修工) was assigned for the first time."""

    type_name = "workorder.assigned"

    assignee: PersonId
    team: ShortText | None = Field(
        default=None,
        description="The assignee's team (班组) at that moment, when dispatch knows it.",
    )
    assignee_name: ShortText | None = Field(
        default=None, description="The assignee's name in the staff directory."
    )


class Reassigned(EventData):
    """The assignment moved from one technician to another."""

    type_name = "workorder.reassigned"

    from_assignee: PersonId
    to_assignee: PersonId
    reason: Text
    team: ShortText | None = Field(
        default=None,
        description="The new assignee's team (班组) at that moment, when dispatch knows it.",
    )
    to_assignee_name: ShortText | None = Field(
        default=None, description="The new assignee's name in the staff directory."
    )


class ArrivalDelayAgreed(EventData):
    """Before the arrival deadline the resident agreed to a later arrival time."""

    type_name = "workorder.arrival_delay_agreed"

    agreed_arrival_at: AwareDatetime
    reason: Text


class Arrived(EventData):
    """Someone arrived at the place the resident named."""

    type_name = "workorder.arrived"

    technician: PersonId


class AppointmentScheduled(EventData):
    """A visit was booked with the resident (预约)."""

    type_name = "workorder.appointment_scheduled"

    appointment_at: AwareDatetime
    note: Annotated[str, Field(max_length=500)] | None = None


class AppointmentMissed(EventData):
    """Nobody was home at the booked time; a notice was left asking to rebook."""

    type_name = "workorder.appointment_missed"

    appointment_at: AwareDatetime
    note: Annotated[str, Field(max_length=500)] | None = None


class NoVisitNeeded(EventData):
    """Customer service settled a complaint or suggestion without a visit (at the desk, on
    the phone): the arrival promise (三分钟) concerns only requests someone must go to, so
    it is kept. `recorded_by` is who decided it, `reason` why."""

    type_name = "workorder.no_visit_needed"

    recorded_by: PersonId
    reason: Text


class WorkStarted(EventData):
    """Work began on site."""

    type_name = "workorder.work_started"


class WorkPaused(EventData):
    """Work stopped for a reason."""

    type_name = "workorder.paused"

    reason: PauseReason
    note: Annotated[str, Field(max_length=500)] | None = None


class WorkResumed(EventData):
    """Work went on after a pause."""

    type_name = "workorder.resumed"


class CommitmentMade(EventData):
    """A resolution time was promised to the resident (承诺时间).

    `approved_by` is set when the promise is beyond the usual limit and a supervisor or
    manager approved it.
    """

    type_name = "workorder.commitment_made"

    due_at: AwareDatetime
    approved_by: PersonId | None = None


class PostponementOverrideGranted(EventData):
    """A supervisor or manager allowed a further postponement (beyond the one allowed)."""

    type_name = "workorder.postponement_override_granted"

    granted_by: PersonId
    reason: Text


class Postponed(EventData):
    """The promised time moved later; the resident was told before the old deadline.

    `approved_by` is set when the new time is beyond the usual limit (7 days from the
    postponement) and a supervisor or manager approved it; absent in events recorded
    before the limit applied to postponements.
    """

    type_name = "workorder.postponed"

    previous_due_at: AwareDatetime
    new_due_at: AwareDatetime
    reason: Text
    postponement_number: Annotated[int, Field(ge=1)]
    approved_by: PersonId | None = None


class ProgressReported(EventData):
    """A progress report on a long fix (每周汇报整改进度)."""

    type_name = "workorder.progress_reported"

    note: Text


class Completed(EventData):
    """The work is done."""

    type_name = "workorder.completed"

    summary: Text


class FeedbackGiven(EventData):
    """The resident was told how their request was handled (反馈)."""

    type_name = "workorder.feedback_given"

    message: Text


class FollowUpRecorded(EventData):
    """A follow-up visit (回访) asked the resident how satisfied they were, 1 to 5."""

    type_name = "workorder.follow_up_recorded"

    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class Closed(EventData):
    """The work order is closed."""

    type_name = "workorder.closed"


class Reopened(EventData):
    """A closed or completed order was opened again (it counts against repair quality)."""

    type_name = "workorder.reopened"

    reason: Text


class Cancelled(EventData):
    """The work order was withdrawn before completion."""

    type_name = "workorder.cancelled"

    reason: Text


class ComplaintValidityMarked(EventData):
    """A supervisor decided whether a complaint is valid (有效投诉)."""

    type_name = "workorder.complaint_validity_marked"

    valid: bool
    reason: Text


class UrgencyChanged(EventData):
    """The order's urgency was changed while open; running SLA clocks are recalculated.

    The recalculation keeps the business time already elapsed and follows directly as
    `workorder.sla_clock_recalculated` events with reason `urgency_changed`.
    """

    type_name = "workorder.urgency_changed"

    from_urgency: Urgency
    to_urgency: Urgency
    reason: Text


class DispatchMode(StrEnum):
    """How a project sends a category of work: 自动派单, 抢单 or 人工派单."""

    AUTO = "auto"
    GRAB = "grab"
    MANUAL = "manual"


class OfferReasons(BaseModel):
    """Why one technician was offered the work: the facts the ranking used.

    `rank` is 1 for the first choice; `open_orders` the technician's open work orders when
    the decision was made; `idle_seconds` the time since their last assignment (None: never
    assigned); `rotation` the position in the round-robin that broke a tie; `reasons` the
    rules they met, in words (skill, coverage, duty, load).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    technician: PersonId
    rank: Annotated[int, Field(ge=1)]
    open_orders: Annotated[int, Field(ge=0)]
    idle_seconds: Annotated[float, Field(ge=0)] | None = None
    rotation: Annotated[int, Field(ge=0)]
    reasons: tuple[ShortText, ...] = ()


class Offered(EventData):
    """The work was offered to one technician (auto) or to every eligible one (grab, 抢单).

    `attempt` counts the offers made since the report (1, 2, …); the offer lapses at
    `expires_at` unless accepted. `offers` carries, per technician, why they were chosen.
    """

    type_name = "workorder.offered"

    mode: DispatchMode
    attempt: Annotated[int, Field(ge=1)]
    trade: ShortText
    expires_at: AwareDatetime
    offers: tuple[OfferReasons, ...]


class AssignmentAccepted(EventData):
    """A technician accepted the offer; `withdrawn` lists the others whose offer lapsed with it.

    It is followed directly by `workorder.assigned` naming the same technician.
    """

    type_name = "workorder.assignment_accepted"

    technician: PersonId
    attempt: Annotated[int, Field(ge=1)]
    withdrawn: tuple[PersonId, ...] = ()


class AssignmentDeclined(EventData):
    """A technician declined the offer made to them."""

    type_name = "workorder.assignment_declined"

    technician: PersonId
    attempt: Annotated[int, Field(ge=1)]
    reason: Annotated[str, Field(max_length=500)] | None = None


class OfferExpired(EventData):
    """Nobody accepted the offer in time; every open offer of the attempt lapsed."""

    type_name = "workorder.offer_expired"

    attempt: Annotated[int, Field(ge=1)]
    technicians: tuple[PersonId, ...]


class ReturnKind(StrEnum):
    """How a technician gave work back: handed back (退单) or asked for a transfer (转单)."""

    HAND_BACK = "hand_back"
    TRANSFER = "transfer"


class AssignmentReturned(EventData):
    """The assigned technician gave the work back to dispatch (退单 or 转单), with a reason.

    The order has no technician again (status `reported`): dispatch offers it to someone
    else under the category's rule, or queues it, in the same write; the technician who
    returned it is not offered it again.
    """

    type_name = "workorder.assignment_returned"

    technician: PersonId
    kind: ReturnKind
    reason: Text


class PendingReason(StrEnum):
    """Why a work order waits in the pending-dispatch queue (待派单)."""

    NOBODY_ELIGIBLE = "nobody_eligible"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"


class DispatchPending(EventData):
    """The work order entered the pending-dispatch queue: a dispatcher must assign it.

    This is also the escalation: `escalated_to` are the supervisors on duty (or the
    project's on-call list when none is), `escalation` says which of the two it was,
    or `none` when the roster names nobody.
    """

    type_name = "workorder.dispatch_pending"

    reason: PendingReason
    attempts: Annotated[int, Field(ge=0)]
    escalation: Annotated[str, Field(pattern=r"^(on_duty_supervisor|on_call|none)$")]
    escalated_to: tuple[PersonId, ...] = ()


WORK_ORDER_EVENTS: tuple[type[EventData], ...] = (
    WorkOrderReported,
    OwnerTransferred,
    Assigned,
    Reassigned,
    ArrivalDelayAgreed,
    Arrived,
    AppointmentScheduled,
    AppointmentMissed,
    NoVisitNeeded,
    WorkStarted,
    WorkPaused,
    WorkResumed,
    CommitmentMade,
    PostponementOverrideGranted,
    Postponed,
    ProgressReported,
    Completed,
    FeedbackGiven,
    FollowUpRecorded,
    Closed,
    Reopened,
    Cancelled,
    ComplaintValidityMarked,
    UrgencyChanged,
    Offered,
    AssignmentAccepted,
    AssignmentDeclined,
    OfferExpired,
    DispatchPending,
    AssignmentReturned,
)
