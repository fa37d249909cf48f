"""The bodies dispatch answers with, as pydantic models for the OpenAPI document.

Handlers write their bodies with orjson (the ingest path is hot); these models only
describe them (`shared.http.responses`). Each is the shape the service layer builds:
where a body is a domain model plus a few fields, the model extends that domain model,
so a field added to the domain shows up here without a second edit.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from services.dispatch.domain.assignment import (
    Availability,
    DispatchRule,
    IneligibleCode,
    Roster,
    StaffRecord,
    TeamRecord,
)
from services.dispatch.domain.sla import OwedBecause, SlaPolicy, TimerKind
from services.dispatch.domain.workorder import WorkOrderState
from services.dispatch.service_layer.sla_views import ClockStatus
from shared.envelope import Envelope
from shared.events.project import ProjectDetails
from shared.events.sla import ClockName
from shared.events.workorder import DispatchMode, OfferReasons
from shared.http.responses import Body, body_of


class WorkOrderIdentity(Body):
    """Which work order this is; its state's fields follow."""

    id: str = Field(description="The work order's id (a UUID).")
    tenant: str
    project: str


# Every field of the fold is in the representation (`WorkOrderState.summary`), always
# present, null when unset: a field added to the state is in the document with it.
WorkOrder = body_of(
    "WorkOrder",
    WorkOrderState,
    "A work order's current state (the fold of its events) and `version`, the number of "
    "events folded (send it back as `If-Match`).",
    base=WorkOrderIdentity,
)


class RecalculatedWorkOrder(WorkOrder):  # type: ignore[valid-type,misc]
    """The work order after `recalculate-sla`, the policy version and the events appended."""

    policy_version: int = Field(description="The policy version the clocks now run under.")
    events: list[str] = Field(description="The event types appended, e.g. none when nothing moved.")


class WorkOrderPage(Body):
    """A page of work orders, newest report first."""

    items: list[WorkOrder]  # type: ignore[valid-type]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


class WorkOrderHistory(Body):
    """A work order's events as CloudEvents envelopes, oldest first."""

    items: list[Envelope]


class OwedVisit(Body):
    """A follow-up visit still owed."""

    work_order_id: str
    first_completed_at: datetime
    because: OwedBecause


class FollowUpsOwed(Body):
    """A project's month of follow-up visits (回访)."""

    model_config = ConfigDict(populate_by_name=True)

    project: str
    month: str = Field(description="YYYY-MM")
    from_: str = Field(alias="from", description="The month's first day (local date).")
    to: str = Field(description="The next month's first day (local date).")
    time_zone: str
    completed_repairs: int
    target_share: float
    required_visits: int
    visited: int
    shortfall: int
    owed: list[OwedVisit]
    as_of: datetime


class ClockPause(Body):
    """Why and since when a clock is paused."""

    reason: str
    trigger: str = Field(description="The event type that paused it.")
    since: datetime


class ClockEscalation(Body):
    """An escalation step taken."""

    trigger: str
    level: int


class PendingTimer(Body):
    """A timer still to fire: a warning, the breach or an escalation step."""

    key: str
    kind: TimerKind
    due_at: datetime
    seconds_until_due: float
    threshold: float | None
    level: int | None
    trigger: str | None


class ClockView(Body):
    """One clock's latest cycle, measured now (business seconds on its calendar)."""

    clock: ClockName
    cycle: int
    status: ClockStatus
    on_time: bool | None
    policy_version: int
    calendar: str
    started_at: datetime
    due_at: datetime
    target_seconds: float
    elapsed_seconds: float
    remaining_seconds: float
    promised: bool
    warnings: list[float]
    breached_at: datetime | None
    paused: ClockPause | None
    missed_with_consent: bool
    ended_at: datetime | None
    escalations: list[ClockEscalation]
    pending_timers: list[PendingTimer]


class SlaView(Body):
    """A work order's SLA clocks."""

    work_order_id: str
    as_of: datetime
    clocks: list[ClockView]
    event_escalations: dict[str, int] = Field(
        description="Event-driven ladder steps taken: trigger → occurrences escalated."
    )


class AtRiskClock(Body):
    """A pending breach."""

    work_order_id: str
    project: str
    clock: ClockName
    cycle: int
    due_at: datetime
    seconds_until_due: float = Field(description="Negative: overdue, not yet recorded.")


class AtRisk(Body):
    """What breaches next, and per project the running clocks due within the hour."""

    as_of: datetime
    items: list[AtRiskClock]
    due_within_hour: dict[str, int]


class StoredSlaPolicy(SlaPolicy):
    """A policy version and the projects it governs."""

    projects: list[str] | None = Field(description="null: the whole tenant.")


class PreviewedClock(Body):
    """A running or paused clock: its due time now, and under the draft once published."""

    work_order_id: str
    number: str | None
    project: str
    clock: str
    cycle: int
    status: str = Field(description="running, paused or breached")
    due_at: datetime
    draft_due_at: datetime | None = Field(description="null: the draft cancels the clock.")
    change: str = Field(description="moved, unchanged or cancelled")


class PolicyPreview(Body):
    """How publishing a draft and recalculating would move the running clocks."""

    as_of: datetime
    policy_version: int = Field(description="The version publishing would assign now.")
    projects: list[str] | None = Field(description="The projects the draft would govern.")
    orders_examined: int
    truncated: bool = Field(description="true: more orders than one preview measures.")
    items: list[PreviewedClock]


class PolicyVersionEntry(Body):
    """One policy version: who published it, when, for which projects."""

    version: int
    created_at: datetime | None = Field(description="null for the default policy (version 1).")
    created_by: str | None
    default: bool
    current: bool
    projects: list[str] | None = Field(description="null: the whole tenant.")


class PolicyVersions(Body):
    """The policy versions the caller sees, and the current one."""

    current: int
    items: list[PolicyVersionEntry]


class Project(ProjectDetails):
    """A registered project."""

    model_config = ConfigDict(extra="forbid")

    tenant: str
    project: str


class ProjectChange(Project):
    """A project as registered or updated, with its registry stream's version."""

    version: int


class ProjectList(Body):
    """The registered projects the caller may see."""

    items: list[Project]


class StaffWritten(StaffRecord):
    """A directory entry as written (your projects' part of it)."""

    id: str


class StaffEntry(StaffWritten):
    """A directory entry, the projects limited to the caller's, and its availability."""

    availability: Availability


class StaffList(Body):
    """The staff of the caller's projects."""

    items: list[StaffEntry]


class StaffWorkload(Body):
    """A person's open orders and the time since their last assignment."""

    staff_id: str
    availability: Availability
    open_orders: int
    max_open_orders: int | None
    last_assigned_at: datetime | None
    idle_seconds: float | None


class TeamEntry(TeamRecord):
    """A team, the projects limited to the caller's."""

    id: str


class TeamList(Body):
    """The teams of the caller's projects."""

    items: list[TeamEntry]


class CategoryRule(DispatchRule):
    """A category's dispatch rule (`*`: every other category)."""

    category: str


class ProjectCategoryRule(CategoryRule):
    """A dispatch rule as written."""

    project: str


class DispatchRules(Body):
    """A project's dispatch rules by category."""

    items: list[CategoryRule]


class RosterNow(Roster):
    """A project's roster and who it has on duty now."""

    on_duty_now: list[str]


class QueuedProject(Body):
    """A project's orders in the pending-dispatch queue, oldest first."""

    project: str
    count: int
    orders: list[WorkOrder]  # type: ignore[valid-type]


class DispatchQueue(Body):
    """The pending-dispatch queue (待派单) per project."""

    items: list[QueuedProject]


class NotEligible(Body):
    """Someone of the project who cannot take the order, and why: in English (`why`), and
    as the rule they fail (`code`) with its facts, for readers in other languages."""

    staff_id: str
    why: str = Field(description="The reason in English, e.g. `no plumbing skill`.")
    code: IneligibleCode = Field(description="The first eligibility rule they fail.")
    trade: str | None = Field(description="The skill they lack (no_skill); else null.")
    availability: Availability | None = Field(
        description="What they set themselves to (unavailable); else null."
    )
    open_orders: int | None = Field(description="Their open orders (at_load_limit); else null.")
    limit: int | None = Field(description="Their load limit (at_load_limit); else null.")


class Suggestion(OfferReasons):
    """One eligible technician: the offer's facts and reasons in English, and the facts the
    reasons were written from, for readers in other languages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trade: str = Field(description="The skill they have that the work needs.")
    project: str = Field(description="The order's project, which they cover.")
    building: str | None = Field(description="The order's building, which they cover; or null.")
    limit: int | None = Field(
        description="Their load limit, which `open_orders` is below; null for an urgent "
        "order (the limit was skipped)."
    )


class Suggestions(Body):
    """Eligible technicians best first with the reasons, and why not the others."""

    work_order_id: str
    trade: str
    mode: DispatchMode
    suggestions: list[Suggestion]
    not_eligible: list[NotEligible]
