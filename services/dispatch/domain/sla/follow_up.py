"""Follow-up visits owed (回访): which completed repairs customer service still has to visit.

The group's standard sets "24.维修服务回访率: ≥30%" per period, and asks that
"(3)业户集中反应的问题处理完成后,及时回访;". The SLA policy's follow-up clock runs on a
share of repairs chosen by a hash of the work-order id (its rule's `sampling_rate`), so
the share of one period's repairs it picks scatters around the rate: at exactly 30 %,
about half of all periods fall short by chance. The plan below guarantees the share: the
visits owed in a period are the repairs the clock picked that are not visited yet, topped
up, whenever visited plus owed would stay under the target share of the period's
completed repairs, with further unvisited repairs, earliest completed first. Once the
owed list is cleared, the period meets the target.

A repair belongs to the period of its first completion (reporting's 维修服务回访率 counts
it there); one visit of any kind counts; only a repair completed now (not reopened,
closed or cancelled) can be visited, so only those are ever owed.

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.dispatch.domain.sla.policy import SlaPolicy
from services.dispatch.domain.sla.rules import ClockRule
from shared.events.sla import ClockName
from shared.events.workorder import WorkOrderKind

_ROUNDING = 1e-9
"""Shares are compared after this tolerance, so 0.3 × 10 requires 3 visits, not 4."""


@dataclass(frozen=True, slots=True)
class CompletedRepair:
    """A repair first completed in the period, as far as follow-up visits are concerned."""

    work_order_id: str
    first_completed_at: datetime
    visited: bool
    """A follow-up visit was recorded (once is enough for the follow-up rate)."""
    visitable: bool
    """Completed now, so a visit can be recorded (not reopened, closed or cancelled)."""


class OwedBecause(StrEnum):
    """Why a visit is owed."""

    SAMPLED = "sampled"
    """The policy's follow-up clock picked the repair."""
    TOP_UP = "top_up"
    """Needed so the period reaches the target share."""


@dataclass(frozen=True, slots=True)
class VisitOwed:
    """One visit customer service still owes."""

    work_order_id: str
    first_completed_at: datetime
    because: OwedBecause


@dataclass(frozen=True, slots=True)
class FollowUpPlan:
    """A period's follow-up visits: what the target needs, what was done, what is owed."""

    completed: int
    target_share: float
    required: int
    visited: int
    owed: tuple[VisitOwed, ...]

    @property
    def shortfall(self) -> int:
        """Visits the period will lack even when every owed visit is made (too few repairs
        can still be visited); 0 when clearing the owed list meets the target."""
        return max(0, self.required - self.visited - len(self.owed))


def required_visits(completed: int, share: float) -> int:
    """The fewest visits that make `share` of `completed` repairs (rounded up)."""
    return max(0, math.ceil(completed * share - _ROUNDING))


def repair_follow_up_rule(policy: SlaPolicy, project: str) -> ClockRule | None:
    """The follow-up clock rule of the policy for a project's repairs of any category and
    urgency (the most specific one naming the project, else the general one); None when
    the policy follows up no repairs."""
    candidates = [
        rule
        for rule in policy.clocks
        if rule.name is ClockName.FOLLOW_UP
        and (rule.kinds is None or WorkOrderKind.REPAIR in rule.kinds)
        and (rule.projects is None or project in rule.projects)
        and rule.categories is None
        and rule.urgencies is None
    ]
    return max(candidates, key=lambda rule: rule.specificity(), default=None)


def follow_up_plan(
    repairs: Iterable[CompletedRepair], share: float, sampled: Callable[[str], bool]
) -> FollowUpPlan:
    """The period's plan: `repairs` first completed in it, the policy's target `share`, and
    whether its follow-up clock picked an order (`sampled`)."""
    repairs = sorted(repairs, key=lambda r: (r.first_completed_at, r.work_order_id))
    required = required_visits(len(repairs), share)
    visited = sum(1 for r in repairs if r.visited)
    waiting = [r for r in repairs if r.visitable and not r.visited]
    owed = [VisitOwed(r.work_order_id, r.first_completed_at, OwedBecause.SAMPLED)
            for r in waiting if sampled(r.work_order_id)]  # fmt: skip
    for repair in waiting:
        if visited + len(owed) >= required:
            break
        if not sampled(repair.work_order_id):
            owed.append(
                VisitOwed(repair.work_order_id, repair.first_completed_at, OwedBecause.TOP_UP)
            )
    owed.sort(key=lambda v: (v.first_completed_at, v.work_order_id))
    return FollowUpPlan(len(repairs), share, required, visited, tuple(owed))


def plan_for(policy: SlaPolicy, project: str, repairs: Iterable[CompletedRepair]) -> FollowUpPlan:
    """The plan under the policy's repair follow-up rule (no rule: nothing is owed)."""
    rule = repair_follow_up_rule(policy, project)
    if rule is None:
        return follow_up_plan(repairs, 0.0, lambda _: False)
    return follow_up_plan(repairs, rule.sampling_rate, rule.samples)
