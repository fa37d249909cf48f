"""Commands: what a person asks the dispatch service to do to a work order or a project.

Each command is also the JSON body of its HTTP endpoint, whose last URL segment is the
command's `name` (`POST /work-orders/{id}/assign`). Values are checked for shape here
(pydantic); whether the command is allowed right now is decided by `workorder.decide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.events import workorder as published_types
from shared.events.project import Building, ProjectDetails
from shared.events.workorder import (
    Channel,
    PauseReason,
    Urgency,
    WorkOrderKind,
)
from shared.inputs import ONE_LINE, WRITTEN, Count, Instant
from shared.subjects import Slug

# What a client sends has the published shapes without control characters (written text
# keeps newlines and tabs): a NUL or an escape sequence must not reach an event.
Text = Annotated[published_types.Text, WRITTEN]
ShortText = Annotated[published_types.ShortText, ONE_LINE]
PersonId = Annotated[published_types.PersonId, ONE_LINE]
Note = Annotated[str, Field(max_length=500), WRITTEN]
Detail = Annotated[str, Field(max_length=500), ONE_LINE]
Phone = Annotated[str, Field(max_length=32), ONE_LINE]
Name = Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]


# The published models ignore unknown fields (consumers must read newer producers);
# what a client sends must not slip past silently, so inputs are strict subclasses.
# `from_attributes` lets code pass the published models where an input is expected.
# A reporter and a location are inputs of their own, not subclasses: the published
# shapes carry what dispatch alone writes (the resident's reference, the sealed tokens),
# which a client must not send.


class LocationInput(BaseModel):
    """`Location`'s clear fields as an HTTP input: unknown fields are refused, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    building: ShortText | None = None
    unit: ShortText | None = None
    detail: Detail | None = None


class ReporterInput(BaseModel):
    """`Reporter`'s clear fields as an HTTP input: unknown fields are refused, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    name: ShortText
    phone: Phone | None = None
    resident_id: PersonId | None = None


class BuildingInput(Building):
    """`Building` as an HTTP input: unknown fields are refused, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    id: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    name: Name
    households: Count = 0
    units: tuple[Annotated[published_types.ShortText, ONE_LINE], ...] = Field(
        default=(),
        max_length=5000,
        description="The building's units as people name them (`1-101`), each once; "
        "leave it out and a work order's unit is typed freely.",
        examples=[["1-101", "1-102"]],
    )


class ProjectDetailsInput(ProjectDetails):
    """`ProjectDetails` as an HTTP input: unknown fields are refused, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    name: Name
    time_zone: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE] = "Asia/Shanghai"
    households: Count
    buildings: tuple[BuildingInput, ...] = ()


Published = TypeVar("Published", bound=BaseModel)


def published(value: BaseModel, as_type: type[Published]) -> Published:
    """The published (lenient) model of an input value, for putting into an event."""
    return as_type.model_validate(value.model_dump())


class Command(BaseModel):
    """The base of every command: immutable and closed to unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]


class ReportWorkOrder(Command):
    """Receive a request from a resident (报修/投诉/建议/保洁) and open a work order."""

    name = "report"

    project: Slug = Field(description="The project (compound, 小区) the request is about.")
    kind: WorkOrderKind = Field(description="Repair, complaint, suggestion or cleaning.")
    category: ShortText = Field(
        description="What kind of problem, in the project's own words.",
        examples=["plumbing", "elevator", "noise"],
    )
    urgency: Urgency = Field(default=Urgency.NORMAL, description="Urgent orders skip quiet hours.")
    location: LocationInput = Field(
        default=LocationInput(),
        description="Building, unit and detail of the place the resident named.",
        examples=[{"building": "3", "unit": "1202", "detail": "kitchen sink"}],
    )
    reporter: ReporterInput = Field(
        description="Who reported; a resident's own report is tied to their login.",
        examples=[{"name": "王女士", "phone": "13800000000", "resident_id": "res-42"}],
    )
    channel: Channel = Field(description="How the request reached the property office.")
    description: Text = Field(
        description="The request in the resident's words.",
        examples=["厨房水管漏水"],
    )
    owner: PersonId | None = Field(
        default=None,
        description=(
            "The staff member who first received the request (首按责任制); defaults to the caller."
        ),
        examples=["cs-li"],
    )
    received_at: Instant | None = Field(
        default=None,
        description=(
            "When the request came in (the call, the visit to the desk), if it is entered "
            "later; the SLA clocks run from it. Not in the future, and at most the SLA "
            "policy's `received_at_max_age` (24 hours by default) in the past."
        ),
        examples=["2024-05-01T09:58:00+08:00"],
    )


class TransferOwner(Command):
    """Hand the ownership of a work order to another staff member explicitly."""

    name = "transfer-owner"

    to_owner: PersonId = Field(description="The new owner.", examples=["cs-zhang"])
    reason: Text = Field(description="Why ownership moves.", examples=["shift change"])


class Assign(Command):
    """Send a technician (维修工) to a work order that has none yet."""

    name = "assign"

    assignee: PersonId = Field(description="The technician sent.", examples=["tech-wang"])


class Reassign(Command):
    """Move the work order from its technician to another one."""

    name = "reassign"

    to_assignee: PersonId = Field(description="The new technician.", examples=["tech-zhao"])
    reason: Text = Field(description="Why the assignment moves.", examples=["needs an electrician"])


class AcceptOffer(Command):
    """Take the work offered to you (接单); in grab mode the first acceptance wins."""

    name = "accept-offer"


class DeclineOffer(Command):
    """Turn down the work offered to you; it is offered to the next eligible technician."""

    name = "decline-offer"

    reason: Note | None = Field(default=None, description="Why, for the supervisor's audit.")


class AgreeArrivalDelay(Command):
    """Record that the resident agreed to a later arrival than the three-minute promise."""

    name = "agree-arrival-delay"

    agreed_arrival_at: Instant = Field(
        description="The arrival time the resident agreed to.",
        examples=["2024-05-01T10:30:00+08:00"],
    )
    reason: Text = Field(description="What was explained to the resident.")


class Arrive(Command):
    """Record that someone reached the place the resident named."""

    name = "arrive"


class ScheduleAppointment(Command):
    """Book (or rebook) a visit with the resident (预约)."""

    name = "schedule-appointment"

    appointment_at: Instant = Field(
        description="When the visit is booked.", examples=["2024-05-02T14:00:00+08:00"]
    )
    note: Note | None = Field(default=None, description="Anything the visitor should know.")


class MissAppointment(Command):
    """Record that nobody was home at the booked time; a notice asks the resident to rebook."""

    name = "miss-appointment"

    note: Note | None = Field(default=None, description="Where the notice was left, etc.")


class RecordNoVisitNeeded(Command):
    """Record that a complaint or suggestion needs nobody on site (settled at the desk or on
    the phone): the arrival promise is kept, and customer service may then complete it."""

    name = "record-no-visit-needed"

    reason: Text = Field(
        description="Why no visit is needed.", examples=["explained the billing by phone"]
    )


class StartWork(Command):
    """Start the work on site."""

    name = "start-work"


class Pause(Command):
    """Stop the work for a reason."""

    name = "pause"

    reason: PauseReason = Field(description="Why the work stops; decides whether clocks pause.")
    note: Note | None = Field(default=None, description="Details, e.g. which part is awaited.")


class Resume(Command):
    """Go on with paused work."""

    name = "resume"


class MakeCommitment(Command):
    """Promise the resident a resolution time (承诺时间), normally within 1-2 days, at most 7."""

    name = "make-commitment"

    due_at: Instant = Field(
        description="The promised resolution time.", examples=["2024-05-03T18:00:00+08:00"]
    )
    override_reason: Text | None = Field(
        default=None,
        description="Why a promise beyond 7 days is needed; only supervisors and managers.",
    )


class Postpone(Command):
    """Move the promised time later, telling the resident before the old deadline."""

    name = "postpone"

    new_due_at: Instant = Field(
        description="The new promised resolution time.", examples=["2024-05-05T18:00:00+08:00"]
    )
    reason: Text = Field(description="Why the promise cannot be kept.", examples=["parts delayed"])
    override_reason: Text | None = Field(
        default=None,
        description=(
            "Why a second postponement is unavoidable (不得两次推迟); only supervisors and managers."
        ),
    )


class ReportProgress(Command):
    """Tell the resident how a long fix is going (每周汇报整改进度)."""

    name = "report-progress"

    note: Text = Field(description="The progress report.", examples=["waterproofing dries"])


class Complete(Command):
    """Record that the work is done."""

    name = "complete"

    summary: Text = Field(description="What was done.", examples=["replaced the valve"])


class GiveFeedback(Command):
    """Tell the resident how their request was handled (反馈)."""

    name = "give-feedback"

    message: Text = Field(description="What the resident was told.")


class RecordFollowUp(Command):
    """Record a follow-up visit (回访): how satisfied the resident is, 1 to 5."""

    name = "record-follow-up"

    rating: Annotated[int, Field(ge=1, le=5)] = Field(
        description="5 very satisfied … 1 very dissatisfied; 4 and 5 count as satisfied.",
        examples=[5],
    )
    comment: Annotated[str, Field(max_length=2000)] | None = Field(
        default=None, description="What the resident said."
    )


class Close(Command):
    """Close a completed work order."""

    name = "close"


class Reopen(Command):
    """Open a completed or closed work order again because the problem is back."""

    name = "reopen"

    reason: Text = Field(description="Why the fix did not hold.", examples=["leaks again"])


class Cancel(Command):
    """Withdraw a work order before it is completed."""

    name = "cancel"

    reason: Text = Field(description="Why it is withdrawn.", examples=["resident fixed it"])


class MarkComplaint(Command):
    """Rule whether a complaint is valid (有效投诉); it counts in the complaint KPIs."""

    name = "mark-complaint"

    valid: bool = Field(description="True if the complaint is valid.")
    reason: Text = Field(description="The grounds of the ruling.")


class ChangeUrgency(Command):
    """Make an open work order urgent, or normal again; running SLA clocks are recalculated."""

    name = "change-urgency"

    urgency: Urgency = Field(description="The new urgency; it must differ from the current one.")
    reason: Text = Field(
        description="Why the urgency changes.", examples=["water reaches the flat below"]
    )


class RecalculateSla(Command):
    """Move the work order's running SLA clocks to the tenant's current policy version.

    A newly published policy applies to new clocks by itself; running clocks change only
    through this command. Elapsed business time and paused time are kept.
    """

    name = "recalculate-sla"

    reason: Note | None = Field(
        default=None, description="Why the clocks are recalculated (kept in the log)."
    )


class HandBack(Command):
    """Give the assigned work back to dispatch (退单): the assigned technician only."""

    name = "hand-back"

    reason: Text = Field(description="Why the work is handed back.", examples=["腰伤，无法登高"])


class RequestTransfer(Command):
    """Ask for the work to go to another technician (转单): the assigned technician only."""

    name = "request-transfer"

    reason: Text = Field(
        description="Why someone else should do it.", examples=["needs an electrician"]
    )


WORK_ORDER_COMMANDS: Mapping[str, type[Command]] = {
    cls.name: cls
    for cls in (
        TransferOwner,
        Assign,
        Reassign,
        AcceptOffer,
        DeclineOffer,
        HandBack,
        RequestTransfer,
        AgreeArrivalDelay,
        Arrive,
        ScheduleAppointment,
        MissAppointment,
        RecordNoVisitNeeded,
        StartWork,
        Pause,
        Resume,
        MakeCommitment,
        Postpone,
        ReportProgress,
        Complete,
        GiveFeedback,
        RecordFollowUp,
        Close,
        Reopen,
        Cancel,
        MarkComplaint,
        ChangeUrgency,
    )
}
"""The commands on an existing work order, by URL segment (reporting one creates it)."""


class RegisterProject(Command):
    """Register a project (compound, 项目/小区) of the tenant."""

    name = "register-project"

    project: Slug = Field(description="The project id, a slug.", examples=["sunny-garden"])
    details: ProjectDetailsInput = Field(description="Name, time zone, households and buildings.")


class UpdateProject(Command):
    """Replace a project's registered facts; the project id comes from the URL."""

    name = "update-project"

    details: ProjectDetailsInput = Field(description="The whole new record.")
