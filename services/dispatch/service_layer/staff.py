"""Managing the staff directory, rosters and dispatch rules; reading workload, queue, suggestions.

Who may do what: project managers and supervisors keep the directory, teams, rosters and
rules of the projects their token grants (HQ quality too, for every project); a technician sets
their own availability (a supervisor or dispatcher may set anyone's, e.g. after a call);
dispatchers, supervisors and managers read workloads, the queue and the suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.dispatch.domain.assignment import (
    Availability,
    DispatchFacts,
    DispatchRule,
    Ineligible,
    Roster,
    StaffMember,
    StaffRecord,
    Team,
    TeamRecord,
    Workload,
    offer_reasons,
    rank,
    unknown_team,
)
from services.dispatch.service_layer.assignment import order_facts
from services.dispatch.service_layer.roles import require_role
from services.dispatch.service_layer.work_orders import LoadedWorkOrder
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.events.workorder import DispatchMode

KEEPERS = frozenset({Role.PROJECT_MANAGER, Role.SUPERVISOR, Role.HQ_QUALITY})
"""Who keeps the staff directory, rosters and dispatch rules (the manager roles)."""

READERS = KEEPERS | {Role.DISPATCHER}
"""Who reads workloads, the pending queue and the suggestions."""

AVAILABILITY_SETTERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.PROJECT_MANAGER})
"""Who may set someone else's availability."""


class StaffAdmin(Protocol):
    """The directory's management operations (the SQL directory implements them)."""

    async def put_staff(self, tenant: str, staff_id: str, record: StaffRecord) -> StaffMember:
        """Create or replace an entry."""
        ...

    async def get_staff(self, tenant: str, staff_id: str) -> StaffMember | None:
        """One entry."""
        ...

    async def set_availability(
        self, tenant: str, staff_id: str, availability: Availability
    ) -> StaffMember:
        """Record availability."""
        ...

    async def workloads(self, tenant: str, staff_ids: Iterable[str]) -> dict[str, Workload]:
        """Open orders and last assignment of each person."""
        ...

    async def list_staff(self, tenant: str, project: str | None) -> list[StaffMember]:
        """A tenant's staff, or those covering `project`."""
        ...

    async def roster(self, tenant: str, project: str) -> Roster:
        """A project's roster."""
        ...

    async def put_roster(self, tenant: str, project: str, roster: Roster) -> None:
        """Replace a project's roster."""
        ...

    async def put_team(self, tenant: str, team_id: str, record: TeamRecord) -> Team:
        """Create or replace a team."""
        ...

    async def get_team(self, tenant: str, team_id: str) -> Team | None:
        """One team."""
        ...

    async def list_teams(self, tenant: str, project: str | None) -> list[Team]:
        """A tenant's teams, or those working in `project`."""
        ...

    async def delete_team(self, tenant: str, team_id: str, projects: frozenset[str]) -> None:
        """Take a team out of `projects` (removing it once it works nowhere), if nothing
        of those projects names it."""
        ...

    async def rule_for(self, tenant: str, project: str, category: str) -> DispatchRule | None:
        """The dispatch rule of a category (or the project's default), if any."""
        ...


def require_projects(principal: Principal, projects: Iterable[str]) -> None:
    """Refuse (`NotFound`, as for anything invisible) a project the token does not grant."""
    for project in projects:
        if not principal.can_access(principal.tenant, project):
            raise NotFound(f"project {project!r} not found", code="unknown_project")


def require_keeper(principal: Principal, what: str, projects: Iterable[str]) -> None:
    """Refuse a change to the directory unless the caller keeps every project it writes."""
    require_role(principal, KEEPERS, what)
    require_projects(principal, projects)


def sees_any(principal: Principal, projects: Iterable[str]) -> bool:
    """Whether the caller's token grants at least one of `projects`."""
    return any(principal.can_access(principal.tenant, p) for p in projects)


def hidden_projects(principal: Principal, projects: Iterable[str]) -> frozenset[str]:
    """The `projects` the caller's token does not grant (they neither see nor change them)."""
    return frozenset(p for p in projects if not principal.can_access(principal.tenant, p))


def seen_projects(principal: Principal, projects: Iterable[str]) -> list[str]:
    """The `projects` the caller's token grants, sorted: what a reply shows of a person's
    or a team's projects."""
    return sorted(p for p in projects if principal.can_access(principal.tenant, p))


async def put_staff(
    directory: StaffAdmin, principal: Principal, staff_id: str, record: StaffRecord
) -> StaffMember:
    """Create or replace the caller's part of a directory entry; the entry as they see it.

    A person may also work in projects the caller does not keep: those stay in the entry
    untouched and out of the answer, so the answer is the one a new id gets and tells
    nothing of the person's other projects. The person's own facts (name, team, trades,
    buildings, load limit) are one record: the latest keeper's write wins.
    """
    require_keeper(principal, "change the staff directory", record.projects)
    current = await directory.get_staff(principal.tenant, staff_id)
    await _require_visible_teams(
        directory, principal, {record.team}, {current.record.team} if current else set()
    )
    hidden = hidden_projects(principal, current.record.projects) if current else frozenset()
    stored = record.model_copy(update={"projects": record.projects | hidden})
    member = await directory.put_staff(principal.tenant, staff_id, stored)
    return member.model_copy(update={"record": record})


async def put_team(
    directory: StaffAdmin, principal: Principal, team_id: str, record: TeamRecord
) -> Team:
    """Create or replace the caller's part of a team; the team as they see it.

    As for a person: the team's projects the caller does not keep stay, and so do, for a
    team that works in such projects, its supervisors the caller cannot see (nobody in
    the caller's projects); neither shows in the answer, which is the one a new id gets.
    Name and trades: the latest write wins.
    """
    require_keeper(principal, "change teams", record.projects)
    current = await directory.get_team(principal.tenant, team_id)
    hidden = hidden_projects(principal, current.record.projects) if current else frozenset()
    # Only a team that also works elsewhere has supervisors the caller may not know.
    others = current.record.supervisors if current and hidden else ()
    unseen = await _unseen_people(directory, principal, others)
    stored = record.model_copy(
        update={"projects": record.projects | hidden, "supervisors": record.supervisors | unseen}
    )
    await directory.put_team(principal.tenant, team_id, stored)
    return Team(id=team_id, record=record)


async def put_roster(
    directory: StaffAdmin, principal: Principal, project: str, roster: Roster
) -> None:
    """Replace a project's roster; its shifts name teams the caller can see."""
    current = await directory.roster(principal.tenant, project)
    await _require_visible_teams(
        directory,
        principal,
        {shift.team for shift in roster.shifts},
        {shift.team for shift in current.shifts},
    )
    await directory.put_roster(principal.tenant, project, roster)


async def _require_visible_teams(
    directory: StaffAdmin, principal: Principal, team_ids: set[str], named: set[str]
) -> None:
    """Refuse teams of projects the caller cannot see as if they did not exist, so that a
    refusal tells nothing of other projects. The teams the written record already names
    (`named`) are the caller's to keep: they read them with it. (The directory's write
    checks again, under its lock, that the teams still exist.)"""
    refused = set()
    for team_id in team_ids - named:
        team = await directory.get_team(principal.tenant, team_id)
        if team is None or not sees_any(principal, team.record.projects):
            refused.add(team_id)
    if refused:
        raise unknown_team(refused)


async def _unseen_people(
    directory: StaffAdmin, principal: Principal, staff_ids: Iterable[str]
) -> frozenset[str]:
    unseen = set()
    for staff_id in staff_ids:
        member = await directory.get_staff(principal.tenant, staff_id)
        if member is None or not sees_any(principal, member.record.projects):
            unseen.add(staff_id)
    return frozenset(unseen)


async def visible_team(directory: StaffAdmin, principal: Principal, team_id: str) -> Team:
    """A team of the caller's projects (`NotFound` for any other, as for anything invisible)."""
    require_role(principal, READERS, "read teams")
    team = await directory.get_team(principal.tenant, team_id)
    if team is None or not sees_any(principal, team.record.projects):
        raise NotFound(f"no team {team_id!r}", code="unknown_team")
    return team


async def visible_teams(
    directory: StaffAdmin, principal: Principal, project: str | None
) -> list[Team]:
    """The teams working in the caller's projects (or in one project)."""
    require_role(principal, READERS, "read teams")
    teams = await directory.list_teams(principal.tenant, project)
    return [team for team in teams if sees_any(principal, team.record.projects)]


async def delete_team(directory: StaffAdmin, principal: Principal, team_id: str) -> None:
    """Take a team out of the manager's projects; it is gone once it works nowhere.

    A team that also works in projects the caller does not manage stays there: the answer
    is the same as for a team of theirs alone, so it tells nothing of other projects.
    """
    require_role(principal, KEEPERS, "change teams")
    team = await visible_team(directory, principal, team_id)
    mine = frozenset(p for p in team.record.projects if principal.can_access(principal.tenant, p))
    await directory.delete_team(principal.tenant, team_id, mine)


async def visible_member(directory: StaffAdmin, principal: Principal, staff_id: str) -> StaffMember:
    """A staff member the caller may see: themselves, or someone of their projects."""
    member = await directory.get_staff(principal.tenant, staff_id)
    visible = member is not None and (
        principal.subject == staff_id
        or (principal.role in READERS and sees_any(principal, member.record.projects))
    )
    if member is None or not visible:
        raise NotFound(f"no staff member {staff_id!r}", code="unknown_staff")
    return member


async def set_availability(
    directory: StaffAdmin, principal: Principal, staff_id: str, availability: Availability
) -> StaffMember:
    """A technician's own availability, or anyone's by a supervisor or dispatcher."""
    if principal.subject != staff_id:
        require_role(principal, AVAILABILITY_SETTERS, "set someone else's availability")
    await visible_member(directory, principal, staff_id)
    return await directory.set_availability(principal.tenant, staff_id, availability)


async def workload(
    directory: StaffAdmin, principal: Principal, staff_id: str, now: datetime
) -> dict[str, Any]:
    """`GET /v1/staff/{id}/workload`: open orders and idle time of one person."""
    member = await visible_member(directory, principal, staff_id)
    found = (await directory.workloads(principal.tenant, [staff_id])).get(staff_id, Workload())
    last = found.last_assigned_at
    return {
        "staff_id": staff_id,
        "availability": member.availability.value,
        "open_orders": found.open_orders,
        "max_open_orders": member.record.max_open_orders,
        "last_assigned_at": last.isoformat() if last else None,
        "idle_seconds": (now - last).total_seconds() if last else None,
    }


@dataclass(frozen=True, slots=True)
class Suggestions:
    """The ranked list for a dispatcher (manual mode, or any order still unassigned)."""

    trade: str
    mode: DispatchMode
    ranked: list[dict[str, Any]]
    not_eligible: dict[str, Ineligible]

    def body(self, work_order_id: str) -> dict[str, Any]:
        """The JSON of `GET /v1/work-orders/{id}/suggestions`."""
        return {
            "work_order_id": work_order_id,
            "trade": self.trade,
            "mode": self.mode.value,
            "suggestions": self.ranked,
            "not_eligible": [_not_eligible(k, v) for k, v in sorted(self.not_eligible.items())],
        }


def _not_eligible(staff_id: str, why: Ineligible) -> dict[str, Any]:
    # `why` stays the English sentence; the code and its facts let the console word it.
    return {
        "staff_id": staff_id,
        "why": str(why),
        "code": why.code.value,
        "trade": why.trade,
        "availability": why.availability.value if why.availability is not None else None,
        "open_orders": why.open_orders,
        "limit": why.limit,
    }


async def suggestions(
    directory: StaffAdmin, principal: Principal, loaded: LoadedWorkOrder, now: datetime
) -> Suggestions:
    """Who a dispatcher should send, best first, with the reasons; and why not the others.

    Without a rule for the category, the category is taken as the trade (manual mode).
    Someone already offered the order is suggested again: a dispatcher may insist.
    """
    require_role(principal, READERS, "see dispatch suggestions")
    state = loaded.state
    tenant, project = loaded.tenant, loaded.project
    rule = await directory.rule_for(tenant, project, state.category)
    if rule is None:
        rule = DispatchRule(mode=DispatchMode.MANUAL, trade=_as_trade(state.category))
    staff = await directory.list_staff(tenant, project)
    facts = DispatchFacts(
        rule=rule,
        staff=staff,
        roster=await directory.roster(tenant, project),
        workloads=await directory.workloads(tenant, (m.id for m in staff)),
    )
    on_duty = facts.roster.on_duty(now) if facts.roster.shifts else None
    order = order_facts(loaded.id, loaded.project, state)
    ranked, refused = rank(facts.staff, facts.rule, order, facts.workloads, on_duty, (), now)
    # Besides the event's reasons in English, the facts they were written from, so that a
    # reader in another language can word them (the event's shape stays as it is).
    offers = [
        {
            **offer.model_dump(mode="json"),
            "trade": candidate.trade,
            "project": candidate.project,
            "building": candidate.building,
            "limit": candidate.limit,
        }
        for candidate, offer in zip(ranked, offer_reasons(ranked), strict=True)
    ]
    return Suggestions(
        trade=facts.rule.trade, mode=facts.rule.mode, ranked=offers, not_eligible=refused
    )


def _as_trade(category: str) -> str:
    slug = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "_-") else "_" for ch in category.lower()
    )
    return slug[:64] or "general"
