"""Who an SLA escalation to a role reaches: the people on duty for it (值班升级).

The escalation ladder names roles. For the supervisor role the staff directory and the
project's duty roster say who that is right now, exactly as for an order nobody could be
found for (`assignment.escalation`): the supervisors on duty, else the on-call list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.dispatch.domain.assignment import escalation
from services.dispatch.domain.roster import Roster
from services.dispatch.domain.staff import StaffMember
from shared.events.sla import EscalationRole, SlaEscalated

ROSTER_ROLES = frozenset({EscalationRole.SUPERVISOR})
"""Roles the directory and roster resolve. It keeps no project managers (they are users
with a role in their token, not staff on shifts), so escalations to them are left to the
receivers' contact lists, as are the order's own assignee and owner."""


def needs_people(event: SlaEscalated) -> bool:
    """Whether the escalation is to a role the roster resolves, with no person named."""
    return event.to_person is None and event.to_role in ROSTER_ROLES


def with_people_on_duty(
    event: SlaEscalated, staff: Sequence[StaffMember], roster: Roster, at: datetime
) -> SlaEscalated:
    """The escalation naming the people on duty for its role at `at` (when it needs them)."""
    if not needs_people(event):
        return event
    on_duty = roster.on_duty(at) if roster.shifts else None
    source, people = escalation(staff, roster, on_duty)
    return event.model_copy(update={"to_people": people, "to_people_source": source})
