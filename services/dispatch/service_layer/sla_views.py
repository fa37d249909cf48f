"""Read views of the SLA clocks (服务时限): a work order's clocks, and what breaches next.

The clocks are the fold of the work order's events (`fold_sla`); these functions only
measure them against `now` on the policy's calendars and shape the JSON bodies. The
at-risk view is built from rows of the timer table, which is itself derived from the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.dispatch.domain.sla import ClockState, Outcome, PolicyBook, SlaState, Timer, timers
from shared.auth import Principal, Role
from shared.errors import Forbidden
from shared.events.sla import ClockName


class ClockStatus(StrEnum):
    """What a reader wants to know first about a clock."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


def clock_status(clock: ClockState) -> ClockStatus:
    """The status of one clock cycle.

    An ended cycle shows how it ended, so a clock met after its breach reads `met` (with
    `on_time` false); an active breached clock reads `breached` even while paused, because
    the breach is the fact that matters and the pause is shown beside it.
    """
    if clock.outcome is Outcome.MET:
        return ClockStatus.MET
    if clock.outcome is Outcome.CANCELLED:
        return ClockStatus.CANCELLED
    if clock.breached_at is not None:
        return ClockStatus.BREACHED
    return ClockStatus.PAUSED if clock.paused is not None else ClockStatus.RUNNING


def on_time(clock: ClockState) -> bool | None:
    """For a met clock, whether it was met before its due time; None while undecided."""
    if clock.outcome is not Outcome.MET:
        return None
    # A met event after a breach carries on_time false; the fold keeps the breach instead.
    return clock.breached_at is None


def clock_view(
    clock: ClockState, policies: PolicyBook, pending: Iterable[Timer], now: datetime
) -> dict[str, Any]:
    """One clock as `GET /v1/work-orders/{id}/sla` shows it, measured at `now`."""
    calendar = policies.of(clock.policy_version).calendar(clock.calendar)
    elapsed = clock.elapsed_at(calendar, now)
    return {
        "clock": clock.clock.value,
        "cycle": clock.cycle,
        "status": clock_status(clock).value,
        "on_time": on_time(clock),
        "policy_version": clock.policy_version,
        "calendar": clock.calendar,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "target_seconds": clock.target.total_seconds(),
        "elapsed_seconds": elapsed.total_seconds(),
        "remaining_seconds": (clock.target - elapsed).total_seconds(),
        "promised": clock.promised,
        "warnings": sorted(clock.warnings),
        "breached_at": clock.breached_at,
        "paused": (
            None
            if clock.paused is None
            else {
                "reason": clock.paused.reason,
                "trigger": clock.paused.trigger,
                "since": clock.paused.since,
            }
        ),
        "missed_with_consent": clock.consent,
        "ended_at": clock.ended_at,
        "escalations": [
            {"trigger": trigger, "level": level}
            for trigger, level in sorted(clock.escalations, key=lambda step: (step[1], step[0]))
        ],
        "pending_timers": [
            timer_view(timer, now) for timer in pending if timer.clock is clock.clock
        ],
    }


def timer_view(timer: Timer, now: datetime) -> dict[str, Any]:
    """A pending timer: what it raises, when, and how far away that is."""
    return {
        "key": timer.key,
        "kind": timer.kind.value,
        "due_at": timer.due_at,
        "seconds_until_due": (timer.due_at - now).total_seconds(),
        "threshold": timer.threshold,
        "level": timer.level,
        "trigger": timer.trigger,
    }


def sla_view(
    work_order_id: str, sla: SlaState, policies: PolicyBook, now: datetime
) -> dict[str, Any]:
    """The body of `GET /v1/work-orders/{id}/sla`: every clock (latest cycle), as of `now`.

    Clocks come in `ClockName` order; `event_escalations` are the event-driven ladder
    steps already taken (trigger → occurrences escalated, 2 for a second reopen).
    """
    pending = timers(sla, policies, work_order_id)
    return {
        "work_order_id": work_order_id,
        "as_of": now,
        "clocks": [clock_view(clock, policies, pending, now) for clock in _in_order(sla)],
        "event_escalations": dict(sla.event_escalations),
    }


def _in_order(sla: SlaState) -> list[ClockState]:
    order = {name: position for position, name in enumerate(ClockName)}
    return sorted(sla.clocks.values(), key=lambda clock: order[clock.clock])


def ensure_may_see_at_risk(principal: Principal) -> None:
    """Any staff role may see what breaches next; residents see only their own orders."""
    if principal.role is Role.RESIDENT:
        raise Forbidden("residents may not list the clocks at risk", code="role_not_allowed")


@dataclass(frozen=True, slots=True)
class BreachTimerRow:
    """A pending breach timer as the timer table stores it."""

    work_order_id: str
    project: str
    clock: str
    cycle: int
    due_at: datetime


def at_risk_view(
    rows: Iterable[BreachTimerRow], due_soon: Mapping[str, int], now: datetime
) -> dict[str, Any]:
    """The body of `GET /v1/sla/at-risk`: the next breaches, and counts per project.

    `seconds_until_due` is negative for a breach that is overdue but not yet recorded (the
    scheduler is behind or was down).
    """
    return {
        "as_of": now,
        "items": [
            {
                "work_order_id": row.work_order_id,
                "project": row.project,
                "clock": row.clock,
                "cycle": row.cycle,
                "due_at": row.due_at,
                "seconds_until_due": (row.due_at - now).total_seconds(),
            }
            for row in rows
        ],
        "due_within_hour": dict(sorted(due_soon.items())),
    }
