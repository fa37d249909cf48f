"""`/v1/staff`: the staff directory, availability and workload; `/v1/teams`: teams;
`/v1/dispatch`: rules, rosters, the pending queue; suggestions for a work order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from services.dispatch.adapters.dispatch_queue import pending_queue
from services.dispatch.domain.assignment import (
    Availability,
    DispatchRule,
    Roster,
    StaffMember,
    StaffRecord,
    Team,
    TeamRecord,
)
from services.dispatch.domain.workorder import View
from services.dispatch.entrypoints.deps import DispatchDep
from services.dispatch.entrypoints.routes.disclosure import (
    UNLOGGED,
    DisclosureDep,
    disclosed_orders,
)
from services.dispatch.entrypoints.routes.schemas import (
    DispatchQueue,
    DispatchRules,
    ProjectCategoryRule,
    RosterNow,
    StaffEntry,
    StaffList,
    StaffWorkload,
    StaffWritten,
    Suggestions,
    TeamEntry,
    TeamList,
)
from services.dispatch.service_layer import staff as staffing
from services.dispatch.service_layer.roles import require_role
from services.dispatch.service_layer.work_orders import load_work_order
from shared.auth import Principal
from shared.errors import NotFound
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import answers, json_response
from shared.inputs import Key, Line

router = APIRouter(tags=["assignment"], responses=PROBLEM_RESPONSES)

StaffIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_.@-]{1,128}$", description="The staff member's id")
]
TeamIdPath = Annotated[
    Line, Path(min_length=1, max_length=64, description="The team's id, e.g. maintenance")
]
ProjectPath = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,64}$", description="Project slug")]
CategoryPath = Annotated[
    Line, Path(min_length=1, max_length=200, description="A work-order category, or * for all")
]
ProjectQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")]


class AvailabilityInput(BaseModel):
    """What a technician says about themselves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    availability: Availability


def _member_body(member: StaffMember, principal: Principal) -> dict[str, object]:
    record = member.record.model_dump(mode="json")
    # Only the caller's projects: a person's other projects are not theirs to know.
    record["projects"] = staffing.seen_projects(principal, member.record.projects)
    return {"id": member.id, "availability": member.availability.value, **record}


@router.put(
    "/v1/staff/{staff_id}",
    response_class=Response,
    responses=answers(StaffWritten, "The id and the record as written."),
    summary="Create or replace a staff member",
)
async def put_staff(
    staff_id: StaffIdPath, record: StaffRecord, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """A directory entry: team, trades, projects and buildings covered (manager roles).
    The team must exist (`PUT /v1/teams/{id}`) and work in one of your projects, else 422
    `unknown_team`.

    You write your projects' part of the entry: a person who also works in projects your
    token does not grant keeps those, and the answer (the id and the record as written;
    availability is the person's own, read it with `GET`) is the same as for a new id,
    so it tells nothing of them. Name, team, trades, buildings and load limit are the
    person's: the latest write wins."""
    member = await staffing.put_staff(dispatch.staff, principal, staff_id, record)
    return json_response({"id": member.id, **member.record.model_dump(mode="json")})


@router.get(
    "/v1/staff",
    response_class=Response,
    responses=answers(StaffList, "The staff of the caller's projects, by id."),
    summary="List staff",
)
async def list_staff(
    principal: PrincipalDep, dispatch: DispatchDep, project: ProjectQuery = None
) -> Response:
    """The staff of the caller's projects (or of one project)."""
    require_role(principal, staffing.READERS, "list the staff directory")
    members = await dispatch.staff.list_staff(principal.tenant, project)
    visible = [m for m in members if staffing.sees_any(principal, m.record.projects)]
    return json_response({"items": [_member_body(m, principal) for m in visible]})


@router.get(
    "/v1/staff/{staff_id}",
    response_class=Response,
    responses=answers(StaffEntry, "The directory entry and the person's availability."),
    summary="Read a staff member",
)
async def read_staff(
    staff_id: StaffIdPath, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """One directory entry (yourself, or someone of your projects)."""
    member = await staffing.visible_member(dispatch.staff, principal, staff_id)
    return json_response(_member_body(member, principal))


@router.put(
    "/v1/staff/{staff_id}/availability",
    response_class=Response,
    responses=answers(StaffEntry, "The directory entry with the new availability."),
    summary="Set availability",
)
async def put_availability(
    staff_id: StaffIdPath, body: AvailabilityInput, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """On duty, busy or off: only `on_duty` technicians receive offers."""
    member = await staffing.set_availability(dispatch.staff, principal, staff_id, body.availability)
    return json_response(_member_body(member, principal))


@router.get(
    "/v1/staff/{staff_id}/workload",
    response_class=Response,
    responses=answers(StaffWorkload, "Open work orders and time since the last assignment."),
    summary="A person's workload",
)
async def get_workload(
    staff_id: StaffIdPath, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """Open work orders and time since the last assignment (what auto dispatch ranks by)."""
    body = await staffing.workload(dispatch.staff, principal, staff_id, dispatch.clock.now())
    return json_response(body)


def _team_body(team: Team, principal: Principal) -> dict[str, object]:
    record = team.record.model_dump(mode="json")
    record["projects"] = staffing.seen_projects(principal, team.record.projects)
    return {"id": team.id, **record}


@router.put(
    "/v1/teams/{team_id}",
    response_class=Response,
    responses=answers(TeamEntry, "The team as written."),
    summary="Create or replace a team",
)
async def put_team(
    team_id: TeamIdPath, record: TeamRecord, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """A team (班组): its name, the trades it covers, its projects and supervisors (manager
    roles). Staff records and roster shifts name a team by this id, so it must exist first.

    You write your projects' part of the team: a team that also works in projects your
    token does not grant keeps those, and the supervisors you cannot see; the answer is
    the team as written, the same as for a new id. Name and trades: the latest write wins."""
    team = await staffing.put_team(dispatch.staff, principal, team_id, record)
    return json_response(_team_body(team, principal))


@router.get(
    "/v1/teams",
    response_class=Response,
    responses=answers(TeamList, "The teams of the caller's projects, by id."),
    summary="List teams",
)
async def list_teams(
    principal: PrincipalDep, dispatch: DispatchDep, project: ProjectQuery = None
) -> Response:
    """The teams of the caller's projects (or of one project), by id."""
    teams = await staffing.visible_teams(dispatch.staff, principal, project)
    return json_response({"items": [_team_body(team, principal) for team in teams]})


@router.get(
    "/v1/teams/{team_id}",
    response_class=Response,
    responses=answers(TeamEntry, "The team."),
    summary="Read a team",
)
async def read_team(
    team_id: TeamIdPath, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """One team of the caller's projects."""
    team = await staffing.visible_team(dispatch.staff, principal, team_id)
    return json_response(_team_body(team, principal))


@router.delete(
    "/v1/teams/{team_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a team",
    responses={
        204: {"description": "Removed."},
        409: {
            **PROBLEM_RESPONSES[409],
            "description": "Staff or a roster shift still names the team (team_in_use)",
        },
    },
)
async def delete_team(
    team_id: TeamIdPath, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """Remove a team (manager roles). Refused with 409 `team_in_use` while a staff record
    or a roster shift names it: move those people and shifts to another team first."""
    await staffing.delete_team(dispatch.staff, principal, team_id)
    return Response(status_code=204)


@router.put(
    "/v1/projects/{project}/dispatch-rules/{category}",
    response_class=Response,
    responses=answers(ProjectCategoryRule, "The rule as written."),
    summary="Set the dispatch mode of a category",
)
async def put_rule(
    project: ProjectPath,
    category: CategoryPath,
    rule: DispatchRule,
    principal: PrincipalDep,
    dispatch: DispatchDep,
) -> Response:
    """Auto, grab or manual for one category of a project (`*`: every other category)."""
    await _require_keeper(dispatch, principal, project, "set dispatch rules")
    await dispatch.staff.put_rule(principal.tenant, project, category, rule)
    return json_response({"project": project, "category": category, **rule.model_dump(mode="json")})


@router.get(
    "/v1/projects/{project}/dispatch-rules",
    response_class=Response,
    responses=answers(DispatchRules, "The project's dispatch rules by category."),
    summary="Dispatch rules",
)
async def list_rules(
    project: ProjectPath, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """A project's dispatch rules by category."""
    require_role(principal, staffing.READERS, "read dispatch rules")
    staffing.require_projects(principal, [project])
    rules = await dispatch.staff.rules(principal.tenant, project)
    items = [{"category": c, **r.model_dump(mode="json")} for c, r in sorted(rules.items())]
    return json_response({"items": items})


@router.put(
    "/v1/projects/{project}/roster",
    response_class=Response,
    responses=answers(Roster, "The roster as written."),
    summary="Set the roster",
)
async def put_roster(
    project: ProjectPath, roster: Roster, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """A project's shifts (with rotations) and on-call list. Each shift's team must exist
    (`PUT /v1/teams/{id}`) and work in one of your projects, else 422 `unknown_team`."""
    await _require_keeper(dispatch, principal, project, "set rosters")
    await staffing.put_roster(dispatch.staff, principal, project, roster)
    return json_response(roster.model_dump(mode="json"))


@router.get(
    "/v1/projects/{project}/roster",
    response_class=Response,
    responses=answers(RosterNow, "The roster (empty when none was set) and who is on duty now."),
    summary="Read the roster",
)
async def read_roster(
    project: ProjectPath, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """A project's roster and who it has on duty now."""
    require_role(principal, staffing.READERS, "read rosters")
    staffing.require_projects(principal, [project])
    roster = await dispatch.staff.roster(principal.tenant, project)
    on_duty = sorted(roster.on_duty(dispatch.clock.now()))
    return json_response({**roster.model_dump(mode="json"), "on_duty_now": on_duty})


@router.get(
    "/v1/dispatch/queue",
    response_class=Response,
    responses={
        **answers(DispatchQueue, "Per project, the orders nobody was found for."),
        **UNLOGGED,
    },
    summary="The pending-dispatch queue",
)
async def queue(
    disclosure: DisclosureDep, dispatch: DispatchDep, project: ProjectQuery = None
) -> Response:
    """Orders nobody could be found for, per project, oldest first (待派单); the reporters'
    data shown as the work-order list shows it (docs/privacy.md)."""
    principal = disclosure.principal
    require_role(principal, staffing.READERS, "read the dispatch queue")
    visible = None if principal.all_projects else principal.projects
    pending = await pending_queue(dispatch.engine, principal.tenant, visible, project)
    items = [
        {
            "project": p,
            "count": len(orders),
            "orders": await disclosed_orders(dispatch, disclosure, View.LISTING, orders),
        }
        for p, orders in sorted(pending.items())
    ]
    return json_response({"items": items})


@router.get(
    "/v1/work-orders/{work_order_id}/suggestions",
    response_class=Response,
    responses=answers(Suggestions, "Eligible technicians best first, and why not the others."),
    summary="Who to send: the ranked suggestions",
)
async def suggestions(
    work_order_id: Key, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """Eligible technicians best first with the reasons, and why the others are not."""
    loaded = await load_work_order(dispatch.store, work_order_id, principal)
    found = await staffing.suggestions(dispatch.staff, principal, loaded, dispatch.clock.now())
    return json_response(found.body(work_order_id))


async def _require_keeper(
    dispatch: DispatchDep, principal: Principal, project: str, what: str
) -> None:
    require_role(principal, staffing.KEEPERS, what)
    staffing.require_projects(principal, [project])
    if not await dispatch.projects.exists(principal.tenant, project):
        raise NotFound(f"project {project!r} not found", code="unknown_project")
