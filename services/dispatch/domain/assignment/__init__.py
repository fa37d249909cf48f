"""Who gets the work (派单): staff, teams, duty rosters, ranking and offers.

`next_dispatch_step` ranks the eligible staff (`rank`, `why_not`) and offers the order;
the roster says who is on duty, `first_receiver` who owns a resident's app report, and
`with_people_on_duty` who an SLA escalation to a role reaches.
"""

from services.dispatch.domain.assignment.escalation_people import needs_people, with_people_on_duty
from services.dispatch.domain.assignment.ranking import (
    DispatchFacts,
    DispatchRule,
    Ineligible,
    IneligibleCode,
    OrderFacts,
    Workload,
    acceptance_limit,
    load_limit_refusal,
    next_dispatch_step,
    offer_reasons,
    over_load_limit,
    rank,
    why_not,
)
from services.dispatch.domain.assignment.reception import first_receiver
from services.dispatch.domain.assignment.roster import Roster, Shift
from services.dispatch.domain.assignment.staff import (
    COMMON_TRADES,
    Availability,
    StaffMember,
    StaffRecord,
    StaffRole,
)
from services.dispatch.domain.assignment.team import Team, TeamRecord, team_uses, unknown_team

__all__ = [
    "COMMON_TRADES",
    "Availability",
    "DispatchFacts",
    "DispatchRule",
    "Ineligible",
    "IneligibleCode",
    "OrderFacts",
    "Roster",
    "Shift",
    "StaffMember",
    "StaffRecord",
    "StaffRole",
    "Team",
    "TeamRecord",
    "Workload",
    "acceptance_limit",
    "first_receiver",
    "load_limit_refusal",
    "needs_people",
    "next_dispatch_step",
    "offer_reasons",
    "over_load_limit",
    "rank",
    "team_uses",
    "unknown_team",
    "why_not",
    "with_people_on_duty",
]
