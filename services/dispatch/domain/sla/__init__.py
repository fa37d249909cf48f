"""Service-level promises (服务时限): clocks, policies, business calendars, timers.

The engine answers two questions: what a work-order event does to the clocks
(`react(state, event, at)`: the events and the clocks after them) and what a timer falling
due does (`fire(state, timer, now)`: the events and the timers left); `state` is `Clocks`.
`timers` says when the clocks next need attention, `on_timer` is the check behind `fire`.
Calendars (working days, public holidays) live here because they decide when a clock runs.
"""

from services.dispatch.domain.sla.calendar import DEFAULT_TIME_ZONE, BusinessCalendar, CalendarKind
from services.dispatch.domain.sla.calendar_days import Window, china_public_calendar
from services.dispatch.domain.sla.clocks import Clocks, fire, react
from services.dispatch.domain.sla.follow_up import (
    CompletedRepair,
    OwedBecause,
    follow_up_plan,
    plan_for,
    repair_follow_up_rule,
    required_visits,
)
from services.dispatch.domain.sla.policy import (
    DEFAULT_APPOINTMENT_GRACE,
    DEFAULT_RECEIVED_AT_MAX_AGE,
    PolicyBook,
    SlaPolicy,
    default_calendars,
    default_policy,
)
from services.dispatch.domain.sla.policy_scope import (
    PolicyScope,
    governing,
    publishing_scope,
    visible_to,
)
from services.dispatch.domain.sla.public_holidays import (
    MAX_YEAR,
    MIN_YEAR,
    PACKAGE_ONLY,
    HolidayYear,
    PackageReader,
    PackageYear,
    PublicHolidays,
    PublicHolidaySchedule,
    ScheduleDocument,
    ScheduleOrigin,
    Year,
)
from services.dispatch.domain.sla.recalculate import POLICY_CHANGED, URGENCY_CHANGED, recalculate
from services.dispatch.domain.sla.rules import ClockRule, EscalationStep, Fraction, PauseRule
from services.dispatch.domain.sla.state import ClockState, Outcome, SlaState, evolve_sla, fold_sla
from services.dispatch.domain.sla.timers import Timer, TimerKind, on_timer, timers

__all__ = [
    "DEFAULT_APPOINTMENT_GRACE",
    "DEFAULT_RECEIVED_AT_MAX_AGE",
    "DEFAULT_TIME_ZONE",
    "MAX_YEAR",
    "MIN_YEAR",
    "PACKAGE_ONLY",
    "POLICY_CHANGED",
    "URGENCY_CHANGED",
    "BusinessCalendar",
    "CalendarKind",
    "ClockRule",
    "ClockState",
    "Clocks",
    "CompletedRepair",
    "EscalationStep",
    "Fraction",
    "HolidayYear",
    "Outcome",
    "OwedBecause",
    "PackageReader",
    "PackageYear",
    "PauseRule",
    "PolicyBook",
    "PolicyScope",
    "PublicHolidaySchedule",
    "PublicHolidays",
    "ScheduleDocument",
    "ScheduleOrigin",
    "SlaPolicy",
    "SlaState",
    "Timer",
    "TimerKind",
    "Window",
    "Year",
    "china_public_calendar",
    "default_calendars",
    "default_policy",
    "evolve_sla",
    "fire",
    "fold_sla",
    "follow_up_plan",
    "governing",
    "on_timer",
    "plan_for",
    "publishing_scope",
    "react",
    "recalculate",
    "repair_follow_up_rule",
    "required_visits",
    "timers",
    "visible_to",
]
