"""SLA policies (服务时限策略): which clocks run on a work order, on which calendar, for how long.

A policy is stored as JSON and versioned per tenant. It holds named calendars, clock rules
(`rules`), warning thresholds and one escalation ladder.

Most specific wins. Several rules may share a clock name; for a work order the rule of each
name is the one whose filters match and are the most specific, ranked project, then
category, then kind, then urgency (a rule naming the project beats any rule that does not;
among those, naming the category beats not naming it, and so on). Among equally specific
matching rules the first one in the policy wins. Rules of different names all run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.dispatch.domain.sla.calendar import BusinessCalendar
from services.dispatch.domain.sla.public_holidays import PublicHolidays
from services.dispatch.domain.sla.rules import (
    FROM_COMMITMENT,
    ClockRule,
    EscalationStep,
    EscalationTrigger,
    Fraction,
    PauseRule,
)
from services.dispatch.domain.workorder import WorkOrderState
from shared.errors import InvalidInput
from shared.events.sla import ClockName, EscalationRole
from shared.events.workorder import PauseReason, WorkOrderKind

__all__ = [
    "FROM_COMMITMENT",
    "ClockRule",
    "EscalationStep",
    "EscalationTrigger",
    "PauseRule",
    "PolicyBook",
    "SlaPolicy",
    "default_calendars",
    "default_policy",
]


def default_calendars(tz: str | None = None) -> dict[str, BusinessCalendar]:
    """24×7 (maintenance, guards), customer service 07:00–23:00, and office working days.

    With `tz` None the calendars follow the zone of the project a clock runs for.
    """
    return {
        "24x7": BusinessCalendar.always(tz=tz),
        "customer_service": BusinessCalendar.daily([("07:00", "23:00")], tz=tz),
        "working_days": BusinessCalendar.working_days(
            [("09:00", "12:00"), ("13:00", "18:00")], tz=tz
        ),
    }


DEFAULT_RECEIVED_AT_MAX_AGE = timedelta(hours=24)
"""How far back a report's `received_at` may lie unless the policy says otherwise."""


class SlaPolicy(BaseModel):
    """A tenant's SLA policy at one version; running clocks remember the version they began under."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[int, Field(ge=1)] = 1
    calendars: dict[str, BusinessCalendar] = Field(default_factory=default_calendars)
    clocks: tuple[ClockRule, ...] = ()
    warning_thresholds: tuple[Fraction, ...] = (0.5, 0.8)
    escalation: tuple[EscalationStep, ...] = ()
    received_at_max_age: timedelta = Field(default=DEFAULT_RECEIVED_AT_MAX_AGE, gt=timedelta(0))
    """How far in the past a report's `received_at` may lie: a request entered after the
    call is timed from the call, but not from an arbitrary past."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for rule in self.clocks:
            if rule.calendar not in self.calendars:
                raise ValueError(f"clock rule {rule.name.value}: no calendar {rule.calendar!r}")
        filters = [(r.name, r.projects, r.categories, r.kinds, r.urgencies) for r in self.clocks]
        if len(set(filters)) != len(filters):
            raise ValueError("two clock rules of one name have the same filters")
        if list(self.warning_thresholds) != sorted(set(self.warning_thresholds)):
            raise ValueError("warning thresholds must be increasing, without repeats")
        steps = [(s.trigger, s.level) for s in self.escalation]
        if len(set(steps)) != len(steps):
            raise ValueError("two escalation steps have the same trigger and level")
        return self

    def check_received_at(self, received_at: datetime, now: datetime) -> None:
        """Refuse a report's `received_at` further back than `received_at_max_age`."""
        if now - received_at > self.received_at_max_age:
            raise InvalidInput(
                f"received_at may be at most {self.received_at_max_age} before now "
                "(the tenant's SLA policy); enter the request as received now",
                code="received_too_long_ago",
            )

    def rules_for(self, work_order: WorkOrderState, project: str | None) -> list[ClockRule]:
        """The rule of each clock name that applies to the work order, in `ClockName` order."""
        best: dict[ClockName, ClockRule] = {}
        for rule in self.clocks:
            if not rule.matches(work_order, project):
                continue
            current = best.get(rule.name)
            # Strictly greater: among equally specific rules the first one stays.
            if current is None or rule.specificity() > current.specificity():
                best[rule.name] = rule
        return [best[name] for name in ClockName if name in best]

    def calendar(self, name: str) -> BusinessCalendar:
        """The calendar called `name`.

        A running clock keeps the calendar name it started with; if a later policy version
        dropped that name, the clock is measured 24×7, which can only make it due earlier.
        """
        found = self.calendars.get(name)
        return found if found is not None else BusinessCalendar.always()

    def in_zone(self, time_zone: str) -> SlaPolicy:
        """This policy with every calendar that names no time zone set in `time_zone`.

        A calendar without its own zone follows the project's (a policy serves projects in
        several zones); one that names a zone keeps it.
        """
        if all(calendar.time_zone is not None for calendar in self.calendars.values()):
            return self
        calendars = {
            name: calendar if calendar.time_zone is not None else calendar.in_zone(time_zone)
            for name, calendar in self.calendars.items()
        }
        return self.model_copy(update={"calendars": calendars})

    def with_public_holidays(self, holidays: PublicHolidays) -> SlaPolicy:
        """This policy with every calendar following `holidays` (the schedules of public
        days off and make-up working days known to the tenant; not stored with the policy)."""
        calendars = {
            name: calendar.with_public_holidays(holidays)
            for name, calendar in self.calendars.items()
        }
        return self.model_copy(update={"calendars": calendars})

    def ladder(self) -> Mapping[str, tuple[EscalationStep, ...]]:
        """The event-driven steps by trigger, in level order."""
        by_trigger: dict[str, list[EscalationStep]] = {}
        for step in sorted(self.escalation, key=lambda s: s.level):
            if step.on_event is not None:
                by_trigger.setdefault(step.on_event.value, []).append(step)
        return {trigger: tuple(steps) for trigger, steps in by_trigger.items()}


@dataclass(frozen=True)
class PolicyBook:
    """The policies a work order's clocks run under.

    New clocks start under `current`; a running clock keeps the version it began under
    (its warnings, ladder and calendar come from that version) until a recalculation moves
    it to `current`. `earlier` holds the older versions the running clocks name.
    """

    current: SlaPolicy
    earlier: Mapping[int, SlaPolicy] = field(default_factory=dict)

    def of(self, version: int) -> SlaPolicy:
        """The policy at `version`; the current one if this book does not hold that version.

        Versions are append-only, so the service layer can always supply a running clock's
        version; the fallback only keeps a clock measurable if one were ever missing.
        """
        if version == self.current.version:
            return self.current
        return self.earlier.get(version, self.current)


_REPORTED = "workorder.reported"
_CANCELLED = "workorder.cancelled"
_COMPLETED = "workorder.completed"
_REOPENED = "workorder.reopened"
_FEEDBACK_GIVEN = "workorder.feedback_given"
_BOOKED = "workorder.appointment_scheduled"
# A missed appointment stops the clock until the resident books again (在业户预约的时间上门而家中无人).
_UNTIL_REBOOKED = PauseRule(on="workorder.appointment_missed", until=(_BOOKED,))

DEFAULT_APPOINTMENT_GRACE = timedelta(minutes=15)
"""How late after a booked time an arrival still keeps the promise, by default: a visit
booked for 14:00 is on time until 14:15 (traffic, a lift, finding the unit)."""
_RESOLUTION_PAUSES = (
    PauseRule(
        on="workorder.paused",
        reasons=(
            PauseReason.WAITING_FOR_PARTS,
            PauseReason.RESIDENT_ABSENT,
            PauseReason.RESIDENT_ASKED_TO_WAIT,
        ),
        until=("workorder.resumed",),
    ),
    _UNTIL_REBOOKED,
)


def default_policy(
    *,
    tz: str | None = None,
    version: int = 1,
    complaint_feedback_on_working_days: bool = False,
    follow_up_within: timedelta = timedelta(days=3),
    repair_follow_up_rate: float = 0.3,
    resolution_default: timedelta = timedelta(days=2),
    appointment_grace: timedelta = DEFAULT_APPOINTMENT_GRACE,
) -> SlaPolicy:
    """The default service promises (docs/sla.md) as a policy; the arguments are the choices it leaves open.

    Complaint feedback is due in one calendar day, or in one working day (8 h of office
    time) with `complaint_feedback_on_working_days`. Arrival is measured to the agreed time
    once the resident agrees to a delay, to the booked time plus `appointment_grace` once a
    visit is booked at the resident's request (在业户预约的时间上门), and is met when customer
    service records that no visit is needed; it is cancelled when a complaint is completed
    without a visit. The reply after a fix concerns repairs and complaints; suggestions have
    their own feedback clock.
    """
    calendars = default_calendars(tz)
    working_day = calendars["working_days"].working_day_length()
    repair_or_complaint = (WorkOrderKind.REPAIR, WorkOrderKind.COMPLAINT)
    feedback_calendar = "working_days" if complaint_feedback_on_working_days else "24x7"
    clocks = (
        ClockRule(
            name=ClockName.ARRIVAL,
            kinds=repair_or_complaint,
            target=timedelta(minutes=3),
            start_on=(_REPORTED,),
            # Settled without a visit: the promise holds only where someone must go.
            stop_on=("workorder.arrived", "workorder.no_visit_needed"),
            cancel_on=(_CANCELLED, _COMPLETED),
            pause_on=(_UNTIL_REBOOKED,),
            retarget_on=("workorder.arrival_delay_agreed", _BOOKED),
            appointment_grace=appointment_grace,
        ),
        ClockRule(
            name=ClockName.FEEDBACK,
            kinds=(WorkOrderKind.COMPLAINT,),
            calendar=feedback_calendar,
            target=working_day if complaint_feedback_on_working_days else timedelta(days=1),
            start_on=(_REPORTED,),
            stop_on=(_FEEDBACK_GIVEN,),
        ),
        ClockRule(
            name=ClockName.FEEDBACK,
            kinds=(WorkOrderKind.SUGGESTION,),
            target=timedelta(days=2),
            start_on=(_REPORTED,),
            stop_on=(_FEEDBACK_GIVEN,),
        ),
        *(
            ClockRule(
                name=ClockName.RESOLUTION,
                kinds=kinds,
                target=FROM_COMMITMENT,
                until_promised=until_promised,
                start_on=start_on,
                stop_on=(_COMPLETED,),
                pause_on=_RESOLUTION_PAUSES,
                retarget_on=("workorder.commitment_made", "workorder.postponed"),
            )
            for kinds, until_promised, start_on in (
                # Repairs and complaints are resolved within 2 days unless a time is
                # promised (承诺时间最好控制在1~2天); the clock runs from the report.
                (
                    repair_or_complaint,
                    resolution_default,
                    (_REPORTED, _REOPENED, "workorder.commitment_made"),
                ),
                # Other kinds get a resolution clock only when something is promised.
                (None, None, ("workorder.commitment_made",)),
            )
        ),
        ClockRule(
            name=ClockName.REPLY,
            kinds=repair_or_complaint,
            calendar="working_days",
            target=working_day,
            start_on=(_COMPLETED,),
            stop_on=(_FEEDBACK_GIVEN,),
            cancel_on=(_CANCELLED, _REOPENED),
        ),
        ClockRule(
            name=ClockName.PROGRESS,
            kinds=(*repair_or_complaint, WorkOrderKind.SUGGESTION),
            target=timedelta(days=7),
            start_on=(_REPORTED, _REOPENED),
            restart_on=("workorder.progress_reported",),
            stop_on=(_COMPLETED, "workorder.closed"),
        ),
        *(
            ClockRule(
                name=ClockName.FOLLOW_UP,
                kinds=(kind,),
                target=follow_up_within,
                start_on=(_COMPLETED,),
                stop_on=("workorder.follow_up_recorded",),
                cancel_on=(_CANCELLED, _REOPENED),
                sampling_rate=rate,
            )
            for kind, rate in (
                (WorkOrderKind.COMPLAINT, 1.0),
                (WorkOrderKind.REPAIR, repair_follow_up_rate),
            )
        ),
        ClockRule(
            name=ClockName.CLEANING,
            kinds=(WorkOrderKind.CLEANING,),
            target=timedelta(minutes=30),
            start_on=(_REPORTED,),
            stop_on=(_COMPLETED,),
        ),
    )
    escalation = (
        EscalationStep(level=1, to_role=EscalationRole.ASSIGNEE, at_fraction=0.5),
        EscalationStep(level=2, to_role=EscalationRole.SUPERVISOR, after_breach=timedelta(0)),
        EscalationStep(
            level=3, to_role=EscalationRole.PROJECT_MANAGER, after_breach=timedelta(minutes=30)
        ),
        EscalationStep(
            level=2, to_role=EscalationRole.SUPERVISOR, on_event=EscalationTrigger.SECOND_REOPEN
        ),
        EscalationStep(
            level=2,
            to_role=EscalationRole.PROJECT_MANAGER,
            on_event=EscalationTrigger.POSTPONEMENT_OVERRIDE_GRANTED,
        ),
        EscalationStep(
            level=2,
            to_role=EscalationRole.PROJECT_MANAGER,
            on_event=EscalationTrigger.COMPLAINT_MARKED_VALID,
            clocks=(ClockName.FEEDBACK,),
        ),
    )
    return SlaPolicy(version=version, calendars=calendars, clocks=clocks, escalation=escalation)
