"""Version 1 of the SLA events (服务时限): what happened to a work order's clocks.

They go on the work order's own stream beside the work-order events, so the SLA state of
a work order is the fold of them and every past decision can be replayed. Each one names
the clock and its cycle (a reopen starts the next cycle of the resolution clock; each
progress report the next cycle of the progress clock), the policy version the clock runs
under, its due time, and the business time elapsed and remaining at the event: seconds of
open time on the clock's calendar, as floats (microsecond precision). `remaining_seconds`
is negative once a clock is overdue. The values describe the instant the event is about:
the moment of a start, pause, stop or recalculation, and for a warning, breach or
time-driven escalation the instant it was scheduled for (`scheduled_for`, or `due_at` for a
breach), whatever the time it was detected (`detected_at`, later after a downtime).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from shared.events.base import EventData
from shared.events.workorder import PersonId, ShortText


class ClockName(StrEnum):
    """The service promises measured by SLA clocks."""

    ARRIVAL = "arrival"
    """三分钟服务承诺: someone on site within 3 minutes of the report."""
    FEEDBACK = "feedback"
    """反馈: the resident hears how a complaint or suggestion is being handled."""
    RESOLUTION = "resolution"
    """承诺时间: the work is done by the time promised to the resident."""
    REPLY = "reply"
    """整改后一个工作日内回复: the resident is told the fix is done."""
    PROGRESS = "progress"
    """每周汇报整改进度: a progress report every week while the order is open."""
    FOLLOW_UP = "follow_up"
    """回访: a follow-up visit asks how satisfied the resident is."""
    CLEANING = "cleaning"
    """保洁员接到通知30分钟内处理: cleaning requests handled in 30 minutes."""


class EscalationRole(StrEnum):
    """Who an escalation goes to; assignee and owner are the work order's own people."""

    ASSIGNEE = "assignee"
    OWNER = "owner"
    SUPERVISOR = "supervisor"
    PROJECT_MANAGER = "project_manager"


Seconds = float
Reason = Annotated[str, Field(min_length=1, max_length=200)]


class SlaClockEvent(EventData):
    """What every SLA event says about its clock; never published on its own."""

    clock: ClockName
    cycle: Annotated[int, Field(ge=0)]
    policy_version: Annotated[int, Field(ge=1)]
    elapsed_seconds: Seconds
    remaining_seconds: Seconds


class SlaClockStarted(SlaClockEvent):
    """A clock started; `trigger` is the work-order event type that started it.

    `promised` says the due time is an instant promised to the resident (a commitment);
    a recalculation under a newer policy keeps such an instant instead of a rule's target.
    `started_at` is set when the clock began counting before the event was recorded (a
    report entered after the request came in: its `received_at`); absent, the clock began
    at the event's time. `elapsed_seconds` is then what it counted up to the event.
    """

    type_name = "workorder.sla_clock_started"

    started_at: AwareDatetime | None = None
    due_at: AwareDatetime
    calendar: ShortText
    target_seconds: Seconds
    trigger: ShortText
    promised: bool = False


class SlaClockPaused(SlaClockEvent):
    """A clock stopped counting: `reason` is the pause reason or the triggering event's name.

    `due_at` is the due time that was in force; a resume sets the new one.
    """

    type_name = "workorder.sla_clock_paused"

    due_at: AwareDatetime
    reason: Reason
    trigger: ShortText


class SlaClockResumed(SlaClockEvent):
    """A paused clock counts again; `due_at` has moved by the paused time."""

    type_name = "workorder.sla_clock_resumed"

    due_at: AwareDatetime
    trigger: ShortText


class SlaWarningRaised(SlaClockEvent):
    """A fraction (`threshold`, e.g. 0.8) of the clock's target has passed."""

    type_name = "workorder.sla_warning_raised"

    due_at: AwareDatetime
    threshold: Annotated[float, Field(gt=0, lt=1)]
    scheduled_for: AwareDatetime
    detected_at: AwareDatetime


class SlaClockBreached(SlaClockEvent):
    """The clock passed its due time (`due_at`, the true instant) while still running."""

    type_name = "workorder.sla_clock_breached"

    due_at: AwareDatetime
    detected_at: AwareDatetime


class SlaClockMet(SlaClockEvent):
    """The clock's stop condition happened: the promised thing was done.

    `on_time` is false when it was done after the due time (the clock was breached).
    `missed_with_consent` says the resident agreed to move the original promise (an arrival
    delay agreed before the deadline); the KPIs count it apart from a plain breach.
    """

    type_name = "workorder.sla_clock_met"

    due_at: AwareDatetime
    on_time: bool
    missed_with_consent: bool
    trigger: ShortText


class SlaEscalated(SlaClockEvent):
    """A step of the escalation ladder: the matter goes to `to_role` (or `to_person`).

    `trigger` names the step: `at_0.5` (half of the target passed), `breach`, `breach+30m`,
    or the work-order fact for event-driven steps (`second_reopen`,
    `postponement_override_granted`, `complaint_marked_valid`), whose `occurrence` counts
    the fact (2 for the second reopen). An event-driven step is reported against a clock
    that may not be running (a reopened order waits for its next commitment): `due_at` is
    then None and `cycle` is the clock's last cycle, 0 if it never ran.

    When the step names a role and no person, dispatch resolves the role through the
    staff directory where it can: `to_people` are then the people it went to and
    `to_people_source` says how they were found. For `supervisor`, through the duty
    roster as `DispatchPending`'s `escalation` does (`on_duty_supervisor`, `on_call`);
    for `project_manager`, the directory's project managers of the order's project
    (`project_managers`: those not `off`, or all of them when every one is `off`).
    `none` when the directory names nobody: receivers then use their own contact lists,
    as they do when `to_people_source` is absent (a person was named, the role is the
    order's own assignee or owner, or the event was recorded before dispatch resolved
    that role: `project_manager` steps before the directory kept project managers).
    """

    type_name = "workorder.sla_escalated"

    due_at: AwareDatetime | None
    level: Annotated[int, Field(ge=1)]
    trigger: ShortText
    to_role: EscalationRole
    to_person: PersonId | None = None
    scheduled_for: AwareDatetime
    detected_at: AwareDatetime
    occurrence: Annotated[int, Field(ge=1)] | None = None
    to_people: tuple[PersonId, ...] = ()
    to_people_source: (
        Annotated[str, Field(pattern=r"^(on_duty_supervisor|on_call|project_managers|none)$")]
        | None
    ) = None


class SlaClockRecalculated(SlaClockEvent):
    """The clock's target or due time changed, keeping the business time already elapsed.

    `reason` is the work-order event that moved it (`postponed`, `arrival_delay_agreed`)
    or an explicit recalculation (`policy_changed`, `urgency_changed`); `with_consent`
    is true when the resident agreed to the new time instead of the original promise.
    A paused clock stays paused; its `due_at` is then the due time if it resumed now.
    `promised` as in `SlaClockStarted`: true from a postponement or an agreed delay on.
    """

    type_name = "workorder.sla_clock_recalculated"

    reason: Reason
    previous_due_at: AwareDatetime
    due_at: AwareDatetime
    calendar: ShortText
    target_seconds: Seconds
    with_consent: bool = False
    promised: bool = False


class SlaClockCancelled(SlaClockEvent):
    """The clock no longer applies (the order was cancelled, or reopened before a reply)."""

    type_name = "workorder.sla_clock_cancelled"

    due_at: AwareDatetime
    reason: Reason


class SlaCalendarUnconfirmed(SlaClockEvent):
    """The clock's due time counts working days of a year whose public holidays are not known.

    The State Council announces a year's days off and make-up working days (调休) late in
    the year before; until a schedule for it is loaded (`PUT /v1/public-holidays/{year}`,
    `wo sla holidays load`) or the `holidays` package announces it, dispatch counts that
    year's statutory days off and no make-up working day. `due_at` (set by the event just
    before this one) may therefore move: earlier if a Saturday or Sunday turns out to be
    worked, later if the notice adds days off. `years` are the unconfirmed years between
    the clock's start and its due time; `calendar` is the clock's calendar. Raised once per
    clock and year, whatever recalculations follow; a schedule loaded later applies to due
    times computed after it, and does not move this one (docs/sla.md).
    """

    type_name = "workorder.sla_calendar_unconfirmed"

    due_at: AwareDatetime
    calendar: ShortText
    years: Annotated[tuple[Annotated[int, Field(ge=1, le=9999)], ...], Field(min_length=1)]


SLA_EVENTS: tuple[type[EventData], ...] = (
    SlaClockStarted,
    SlaClockPaused,
    SlaClockResumed,
    SlaWarningRaised,
    SlaClockBreached,
    SlaClockMet,
    SlaEscalated,
    SlaClockRecalculated,
    SlaClockCancelled,
    SlaCalendarUnconfirmed,
)
