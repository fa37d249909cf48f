"""Supervisors and project managers: the staff directory and the teams, edited in forms.

Read and written through dispatch's staff API with the user's own token, so dispatch
decides who may change what (its keepers, each within their projects); the console
shows its refusals on the form, with what was typed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from services.console.domain import setup_forms as forms
from services.console.domain.roles import Page
from services.console.domain.session import SignedIn
from services.console.entrypoints.editing import form_problem, refusal
from services.console.entrypoints.labels import N_
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json

router = APIRouter(include_in_schema=False)

PersonId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.@-]{1,128}$")]
TeamId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
ProjectChoice = Annotated[str, Query(pattern=r"^[a-z0-9_-]{0,64}$")]
HOME = f"/{Page.SETUP}"

PERSON_FIELDS = {
    "id": N_("Id"),
    "name": N_("Name"),
    "role": N_("Role"),
    "team": N_("Team"),
    "projects": N_("Projects"),
    "max_open_orders": N_("Most open orders at once"),
}
TEAM_FIELDS = {"id": N_("Id"), "name": N_("Name"), "projects": N_("Projects")}

TRADES: tuple[str, ...] = (
    "plumbing",
    "electrical",
    "elevator",
    "doors_and_locks",
    "cleaning",
    "security",
    "customer_service",
)
"""The trades the forms offer, besides any a person or team already has."""


def home(project: str) -> str:
    """The setup page of `project`."""
    return f"{HOME}?project={project}" if project else HOME


def trades_with(*have: Any) -> list[str]:
    """The offered trades and any of `have` (lists of trades already written)."""
    return sorted(set(TRADES).union(*(set(h or ()) for h in have)))


async def directory(visit: Visit, user: SignedIn, project: str) -> tuple[list[Json], list[Json]]:
    """The staff and the teams of `project` (or of all the user's projects), by id."""
    params = {"project": project} if project else None
    staff, teams = await asyncio.gather(
        visit.console.dispatch.get(user.token, "/v1/staff", params),
        visit.console.dispatch.get(user.token, "/v1/teams", params),
    )
    return _by_id(staff.get("items", [])), _by_id(teams.get("items", []))


def _by_id(items: list[Json]) -> list[Json]:
    return sorted(items, key=lambda item: str(item.get("id")))


@router.get("/setup")
async def setup_page(visit: VisitDep, project: ProjectChoice = "") -> Response:
    """A project's staff, teams, roster and dispatch rules, each with its edit link."""
    user = visit.require(Page.SETUP)
    projects = await boards.projects(visit.console.dispatch, user)
    project = project if project in projects else next(iter(projects), "")
    staff, teams = await directory(visit, user, project)
    roster: Json = {}
    rules: list[Json] = []
    if project:
        api = visit.console.dispatch
        roster, listed = await asyncio.gather(
            api.get(user.token, f"/v1/projects/{project}/roster"),
            api.get(user.token, f"/v1/projects/{project}/dispatch-rules"),
        )
        rules = listed.get("items", [])
    return visit.render(
        "setup.html",
        projects=projects,
        project=project,
        staff=staff,
        teams=teams,
        roster=roster,
        rules=rules,
    )


async def _person_form(
    visit: Visit,
    person_id: str | None,
    person: Json,
    project: str,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    user = visit.require(Page.SETUP)
    projects = await boards.projects(visit.console.dispatch, user)
    _, teams = await directory(visit, user, "")
    return visit.render(
        "setup_person.html",
        status=status,
        person_id=person_id,
        person=person,
        project=project,
        projects=projects,
        teams=teams,
        trades=trades_with(person.get("trades"), *(t.get("trades") for t in teams)),
        roles=forms.STAFF_ROLES,
        problem=problem,
    )


@router.get("/setup/people/new")
async def new_person_page(visit: VisitDep, project: ProjectChoice = "") -> Response:
    """An empty person form, covering `project` to start with."""
    visit.require(Page.SETUP)
    person: Json = {"role": "technician", "projects": [project] if project else []}
    return await _person_form(visit, None, person, project)


@router.get("/setup/people/{person_id}")
async def person_page(
    person_id: PersonId, visit: VisitDep, project: ProjectChoice = ""
) -> Response:
    """A person's directory entry, to change."""
    user = visit.require(Page.SETUP)
    person = await visit.console.dispatch.get(user.token, f"/v1/staff/{person_id}")
    return await _person_form(visit, person_id, person, project)


async def _save_person(visit: Visit, person_id: str | None) -> Response:
    user = visit.require(Page.SETUP)
    form = await visit.form()
    project = form.get("back_project", "")
    projects = await boards.projects(visit.console.dispatch, user)
    _, teams = await directory(visit, user, "")
    shown: Json = {
        "id": person_id or form.get("id", ""),
        "name": form.get("name", ""),
        "role": form.get("role", ""),
        "team": form.get("team", ""),
        "trades": forms.checked(form, "trade"),
        "projects": forms.checked(form, "project"),
        "buildings": forms.checked(form, "building"),
        "max_open_orders": form.get("max_open_orders", ""),
    }
    try:
        target = person_id or forms.new_id(form, forms.STAFF_ID)
        record = forms.staff_record(form, [str(t["id"]) for t in teams], projects)
    except forms.FormProblem as exc:
        return await _person_form(
            visit, person_id, shown, project, form_problem(visit, exc, PERSON_FIELDS), status=422
        )
    api = visit.console.dispatch
    _, problem = await refusal(visit, api.put(user.token, f"/v1/staff/{target}", record))
    if problem is not None:
        return await _person_form(visit, person_id, shown, project, problem, status=422)
    visit.note(visit.gettext("%(person)s saved.", person=record["name"]))
    return visit.redirect(home(project))


@router.post("/setup/people")
async def add_person(visit: VisitDep) -> Response:
    """Add a person to the directory under the id typed."""
    return await _save_person(visit, None)


@router.post("/setup/people/{person_id}")
async def edit_person(person_id: PersonId, visit: VisitDep) -> Response:
    """Replace a person's entry in the user's projects (dispatch keeps the others)."""
    return await _save_person(visit, person_id)


async def _team_form(
    visit: Visit,
    team_id: str | None,
    team: Json,
    project: str,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    user = visit.require(Page.SETUP)
    projects = await boards.projects(visit.console.dispatch, user)
    staff, _ = await directory(visit, user, "")
    supervisors = [m for m in staff if m.get("role") in ("supervisor", "project_manager")]
    # A supervisor the team names but the directory does not show stays ticked.
    shown = {str(m.get("id")) for m in supervisors}
    extra = sorted({str(s) for s in team.get("supervisors") or []} - shown)
    supervisors += [{"id": s, "name": s} for s in extra]
    return visit.render(
        "setup_team.html",
        status=status,
        team_id=team_id,
        team=team,
        project=project,
        projects=projects,
        supervisors=supervisors,
        trades=trades_with(team.get("trades")),
        problem=problem,
    )


@router.get("/setup/teams/new")
async def new_team_page(visit: VisitDep, project: ProjectChoice = "") -> Response:
    """An empty team form, working in `project` to start with."""
    visit.require(Page.SETUP)
    team: Json = {"projects": [project] if project else []}
    return await _team_form(visit, None, team, project)


@router.get("/setup/teams/{team_id}")
async def team_page(team_id: TeamId, visit: VisitDep, project: ProjectChoice = "") -> Response:
    """A team's name, trades, projects and supervisors, to change."""
    user = visit.require(Page.SETUP)
    team = await visit.console.dispatch.get(user.token, f"/v1/teams/{team_id}")
    return await _team_form(visit, team_id, team, project)


async def _save_team(visit: Visit, team_id: str | None) -> Response:
    user = visit.require(Page.SETUP)
    form = await visit.form()
    project = form.get("back_project", "")
    projects = await boards.projects(visit.console.dispatch, user)
    shown: Json = {
        "id": team_id or form.get("id", ""),
        "name": form.get("name", ""),
        "trades": forms.checked(form, "trade"),
        "projects": forms.checked(form, "project"),
        "supervisors": forms.checked(form, "supervisor"),
    }
    try:
        target = team_id or forms.new_id(form, forms.TEAM_ID)
        record = forms.team_record(form, projects)
    except forms.FormProblem as exc:
        return await _team_form(
            visit, team_id, shown, project, form_problem(visit, exc, TEAM_FIELDS), 422
        )
    api = visit.console.dispatch
    _, problem = await refusal(visit, api.put(user.token, f"/v1/teams/{target}", record))
    if problem is not None:
        return await _team_form(visit, team_id, shown, project, problem, status=422)
    visit.note(visit.gettext("Team %(team)s saved.", team=record["name"]))
    return visit.redirect(home(project))


@router.post("/setup/teams")
async def add_team(visit: VisitDep) -> Response:
    """Add a team under the id typed."""
    return await _save_team(visit, None)


@router.post("/setup/teams/{team_id}")
async def edit_team(team_id: TeamId, visit: VisitDep) -> Response:
    """Replace a team's record in the user's projects (dispatch keeps the others)."""
    return await _save_team(visit, team_id)
