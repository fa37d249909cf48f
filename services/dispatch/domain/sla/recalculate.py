"""An explicit recalculation: running clocks move to a newer policy version or a new urgency.

A policy change applies to new clocks by itself; running ones change only through this
command, whose outcome is an event per clock that changed. The business time already
elapsed is kept, so time spent paused stays uncounted. A due time promised to the resident
(a commitment, a postponement, an agreed arrival time, a booked visit) is kept as well;
other clocks get the target of the rule that now applies (the urgent one for an urgent
order) on the rule's calendar, and a clock that runs to a default until something is
promised (`until_promised`, the resolution clock's 2 days) gets the new default. Clocks
the newer policy adds are not started retroactively; a running clock the policy no longer
has is cancelled.
"""

from __future__ import annotations

from datetime import datetime

from services.dispatch.domain.sla.calendar_warning import warn_unconfirmed
from services.dispatch.domain.sla.emitter import Emitter
from services.dispatch.domain.sla.policy import PolicyBook
from services.dispatch.domain.sla.state import SlaState
from services.dispatch.domain.workorder import WorkOrderState
from shared.events.base import EventData
from shared.events.sla import ClockName, SlaClockCancelled, SlaClockRecalculated

POLICY_CHANGED = "policy_changed"
URGENCY_CHANGED = "urgency_changed"
NO_LONGER_APPLIES = "no_longer_applies"


def recalculate(
    sla: SlaState,
    policies: PolicyBook,
    work_order: WorkOrderState,
    at: datetime,
    *,
    project: str | None = None,
    reason: str = POLICY_CHANGED,
) -> list[EventData]:
    """The events moving every running or paused clock to the current policy and the order's
    urgency.

    A clock that would not change emits nothing; a breach not yet noticed is recorded first,
    on the version the clock ran under.
    """
    out = Emitter(sla, at)
    policy = policies.current
    rules = {rule.name: rule for rule in policy.rules_for(work_order, project)}
    for name in ClockName:
        if name not in out.sla.clocks or not out.clock(name).active:
            continue
        ran_under = policies.of(out.clock(name).policy_version)
        out.catch_up(ran_under, name, breach_only=True)
        clock = out.clock(name)
        old_calendar = ran_under.calendar(clock.calendar)
        rule = rules.get(name)
        if rule is None:
            figures = clock.figures(old_calendar, at)
            out.emit(SlaClockCancelled(**figures, due_at=clock.due_at, reason=NO_LONGER_APPLIES))
            continue
        calendar = policy.calendar(rule.calendar)
        # Business time counted so far was counted on the calendar the clock ran on.
        elapsed = clock.elapsed_at(old_calendar, at)
        target = None if clock.promised else rule.unpromised_target(work_order.urgency)
        if target is None:
            target = clock.target
            if clock.running and clock.due_at > at:
                target = elapsed + calendar.elapsed(at, clock.due_at)
        if (policy.version, rule.calendar, target) == (
            clock.policy_version,
            clock.calendar,
            clock.target,
        ):
            continue  # the same schedule: the due time would not move
        moved = clock.due_after(calendar, at, target - elapsed)
        recalculated = SlaClockRecalculated(
            **{**clock.figures(old_calendar, at, target), "policy_version": policy.version},
            reason=reason,
            previous_due_at=clock.due_at,
            due_at=moved,
            calendar=rule.calendar,
            target_seconds=target.total_seconds(),
            promised=clock.promised,
        )
        out.emit(recalculated)
    warn_unconfirmed(out, policies)
    return out.events
