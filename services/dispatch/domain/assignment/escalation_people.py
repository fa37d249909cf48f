"""Who an SLA escalation to a role reaches: the people the staff directory names for it (值班升级).

The escalation ladder names roles. Two of them dispatch resolves itself:

- **supervisor**: the staff directory and the project's duty roster say who that is right
  now, exactly as for an order nobody could be found for (`assignment.escalation`): the
  supervisors on duty, else the on-call list.
- **project_manager**: managers (项目经理) work no shifts, so the roster has no say: the
  directory's project managers covering the order's project are told. Those who set
  themselves `off` are left out while another manager of the project is not; when every
  one of them is `off` (a new directory entry starts `off`, and managers rarely change it)
  they are all told rather than nobody, since the escalation must reach someone who
  answers for the project.

The order's own assignee and owner are not the directory's business; nor is a step that
names its person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.dispatch.domain.assignment.ranking import escalation
from services.dispatch.domain.assignment.roster import Roster
from services.dispatch.domain.assignment.staff import Availability, StaffMember, StaffRole
from shared.events.sla import EscalationRole, SlaEscalated

DIRECTORY_ROLES = frozenset({EscalationRole.SUPERVISOR, EscalationRole.PROJECT_MANAGER})
"""Roles the directory resolves; the order's own assignee and owner are left to the
receivers, who know them from the order's events."""

PROJECT_MANAGERS = "project_managers"
"""`to_people_source` when the directory's project managers were named."""


def needs_people(event: SlaEscalated) -> bool:
    """Whether the escalation is to a role the directory resolves, with no person named."""
    return event.to_person is None and event.to_role in DIRECTORY_ROLES


def project_managers(staff: Sequence[StaffMember], project: str) -> tuple[str, tuple[str, ...]]:
    """The project managers covering `project`, as (`to_people_source`, people).

    Those not `off` when there are any, else every one of them; `none` when the
    directory keeps no project manager for the project.
    """
    managers = sorted(
        (
            m
            for m in staff
            if m.record.role is StaffRole.PROJECT_MANAGER and m.covers(project, None)
        ),
        key=lambda m: m.id,
    )
    reachable = [m for m in managers if m.availability is not Availability.OFF] or managers
    if not reachable:
        return "none", ()
    return PROJECT_MANAGERS, tuple(m.id for m in reachable)


def with_people_on_duty(
    event: SlaEscalated, staff: Sequence[StaffMember], roster: Roster, project: str, at: datetime
) -> SlaEscalated:
    """The escalation naming the people the directory has for its role at `at` (when it
    needs them): `staff` and `roster` are those of the order's `project`."""
    if not needs_people(event):
        return event
    if event.to_role is EscalationRole.PROJECT_MANAGER:
        source, people = project_managers(staff, project)
    else:
        on_duty = roster.on_duty(at) if roster.shifts else None
        source, people = escalation(staff, roster, on_duty)
    return event.model_copy(update={"to_people": people, "to_people_source": source})
