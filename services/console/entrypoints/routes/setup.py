"""Supervisors and project managers: the staff directory and the teams, edited in forms.

Read and written through dispatch's staff API with the user's own token, so dispatch
decides who may change what (its keepers, each within their projects); the console
shows its refusals on the form, with what was typed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from services.console.domain import setup_forms as forms
from services.console.domain.roles import Page
from services.console.domain.session import SignedIn
from services.console.entrypoints import labels
from services.console.entrypoints.editing import form_problem, refusal
from services.console.entrypoints.labels import N_
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json
from services.dispatch.domain.assignment import COMMON_TRADES

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


def home(project: str) -> str:
    """The setup page of `project`."""
    return f"{HOME}?project={project}" if project else HOME


def trades_with(*have: Any) -> list[str]:
    """The trades the forms offer: a property group's usual teams (dispatch's own list),
    and any of `have` (lists of trades already written), so that a trade a tenant uses
    shows up once a person or team has it."""
    return sorted(set(COMMON_TRADES).union(*(set(h or ()) for h in have)))


def trade_words(visit: Visit, *have: Any) -> dict[str, str]:
    """The offered trades (`trades_with`), each with its words in the user's language."""
    return {t: visit.gettext(labels.word(labels.CATEGORIES, t)) for t in trades_with(*have)}


def names(projects: Mapping[str, Json]) -> dict[str, str]:
    """Each project's name, by slug."""
    return {slug: str(p.get("name") or slug) for slug, p in projects.items()}


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
        trades=trade_words(visit, person.get("trades"), *(t.get("trades") for t in teams)),
        project_names=names(projects),
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


@dataclass(frozen=True)
class Entry:
    """A kind of directory entry the setup forms write: a person or a team."""

    path: str
    """dispatch's collection, e.g. `/v1/staff`."""
    id_pattern: re.Pattern[str]
    fields: Mapping[str, str]
    """The form's fields and their labels, to name the one the console cannot read."""
    scalars: tuple[str, ...]
    groups: tuple[str, ...]
    """Checkbox groups, `trade` for `trade-plumbing`; shown again as `trades`."""
    done: str
    """The note after saving, with `%(name)s`."""
    record: Callable[[Visit, SignedIn, dict[str, str]], Awaitable[Json]]
    """The API's body from the form (`FormProblem` when it cannot be read)."""
    page: Callable[[Visit, str | None, Json, str, str | None, int], Awaitable[Response]]
    """The form again, with what was typed and the problem."""


async def _save(visit: Visit, entry: Entry, entry_id: str | None) -> Response:
    """Write a person or team from its form, or show the form again with why not."""
    user = visit.require(Page.SETUP)
    form = await visit.form()
    project = form.get("back_project", "")
    shown: Json = {name: form.get(name, "") for name in entry.scalars}
    shown.update({f"{group}s": forms.checked(form, group) for group in entry.groups})
    shown["id"] = entry_id or form.get("id", "")
    try:
        target = entry_id or forms.new_id(form, entry.id_pattern)
        record = await entry.record(visit, user, form)
    except forms.FormProblem as exc:
        unread = form_problem(visit, exc, entry.fields)
        return await entry.page(visit, entry_id, shown, project, unread, 422)
    api = visit.console.dispatch
    _, problem = await refusal(visit, api.put(user.token, f"{entry.path}/{target}", record))
    if problem is not None:
        return await entry.page(visit, entry_id, shown, project, problem, 422)
    visit.note(visit.gettext(entry.done, name=record["name"]))
    return visit.redirect(home(project))


async def _person_record(visit: Visit, user: SignedIn, form: dict[str, str]) -> Json:
    projects = await boards.projects(visit.console.dispatch, user)
    _, teams = await directory(visit, user, "")
    return forms.staff_record(form, [str(t["id"]) for t in teams], projects)


@router.post("/setup/people")
async def add_person(visit: VisitDep) -> Response:
    """Add a person to the directory under the id typed."""
    return await _save(visit, PERSON, None)


@router.post("/setup/people/{person_id}")
async def edit_person(person_id: PersonId, visit: VisitDep) -> Response:
    """Replace a person's entry in the user's projects (dispatch keeps the others)."""
    return await _save(visit, PERSON, person_id)


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
        trades=trade_words(visit, team.get("trades")),
        project_names=names(projects),
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


async def _team_record(visit: Visit, user: SignedIn, form: dict[str, str]) -> Json:
    return forms.team_record(form, await boards.projects(visit.console.dispatch, user))


PERSON = Entry(
    "/v1/staff",
    forms.STAFF_ID,
    PERSON_FIELDS,
    ("name", "role", "team", "max_open_orders"),
    ("trade", "project", "building"),
    N_("%(name)s saved."),
    _person_record,
    _person_form,
)
TEAM = Entry(
    "/v1/teams",
    forms.TEAM_ID,
    TEAM_FIELDS,
    ("name",),
    ("trade", "project", "supervisor"),
    N_("Team %(name)s saved."),
    _team_record,
    _team_form,
)


@router.post("/setup/teams")
async def add_team(visit: VisitDep) -> Response:
    """Add a team under the id typed."""
    return await _save(visit, TEAM, None)


@router.post("/setup/teams/{team_id}")
async def edit_team(team_id: TeamId, visit: VisitDep) -> Response:
    """Replace a team's record in the user's projects (dispatch keeps the others)."""
    return await _save(visit, TEAM, team_id)
