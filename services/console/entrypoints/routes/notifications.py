"""Supervisors and project managers: notify's contacts and who hears of each event type.

Read and written through notify's configuration API with the user's own token, so notify
decides who may change what (its editors: supervisors and project managers, each within
their projects); the console shows its refusals.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from services.console.domain.roles import Page
from services.console.domain.routes import parse_targets, targets_text
from services.console.entrypoints.labels import NOTIFY_CHANNELS
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json, UpstreamError

router = APIRouter(include_in_schema=False)

PersonId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:@-]{1,64}$")]
EventType = Annotated[str, Path(pattern=r"^[a-z_]{1,32}\.[a-z_]{1,64}$")]
ProjectChoice = Annotated[str, Query(pattern=r"^[a-z0-9_-]{0,64}$")]
HOME = f"/{Page.NOTIFICATIONS}"


def _params(project: str) -> dict[str, str]:
    return {"project": project} if project else {}


def _home(project: str) -> str:
    return f"{HOME}?project={project}" if project else HOME


@router.get("/notifications")
async def notifications_page(visit: VisitDep, project: ProjectChoice = "") -> Response:
    """notify's contacts, and the routes of a project (or of every project)."""
    user = visit.require(Page.NOTIFICATIONS)
    projects, contacts, routes, roles = await asyncio.gather(
        boards.projects(visit.console.dispatch, user),
        visit.console.notify.get_list(user.token, "/v1/contacts"),
        visit.console.notify.get_list(user.token, "/v1/routes", _params(project)),
        visit.console.notify.get_list(user.token, "/v1/roles", _params(project)),
    )
    return visit.render(
        "notifications.html",
        projects=projects,
        project=project,
        contacts=contacts,
        routes=routes,
        roles=roles,
    )


async def _contact_form(
    visit: Visit, person_id: str, contact: Json, problem: str | None, status: int = 200
) -> Response:
    return visit.render(
        "contact.html",
        status=status,
        contact=contact,
        person_id=person_id,
        channels=NOTIFY_CHANNELS,
        problem=problem,
    )


@router.get("/notifications/contacts/{person_id}")
async def contact_page(person_id: PersonId, visit: VisitDep) -> Response:
    """A contact's name and the channels that reach them."""
    user = visit.require(Page.NOTIFICATIONS)
    contact = await visit.console.notify.get(user.token, f"/v1/contacts/{person_id}")
    return await _contact_form(visit, person_id, contact, None)


@router.post("/notifications/contacts/{person_id}")
async def edit_contact(person_id: PersonId, visit: VisitDep) -> Response:
    """Change the name and channels; the rest of the contact (addresses, robots) is kept."""
    user = visit.require(Page.NOTIFICATIONS)
    form = await visit.form()
    channels = [c for c in NOTIFY_CHANNELS if form.get(f"channel-{c}") == "on"]
    name = form.get("name", "").strip()
    patch: Json = {"name": name or None, "channels": channels}
    try:
        await visit.console.notify.patch(user.token, f"/v1/contacts/{person_id}", patch)
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status in (401, 404):
            raise
        problem = visit.gettext("notify refused: %(detail)s", detail=exc.detail)
        shown: dict[str, Any] = {"id": person_id, "name": name, "channels": channels}
        return await _contact_form(visit, person_id, shown, problem, status=422)
    visit.note(visit.gettext("Contact %(person)s saved.", person=name or person_id))
    return visit.redirect(HOME)


async def _route_form(
    visit: Visit,
    event_type: str,
    project: str,
    text: str,
    problem: str | None,
    status: int = 200,
) -> Response:
    user = visit.require(Page.NOTIFICATIONS)
    projects = await boards.projects(visit.console.dispatch, user)
    return visit.render(
        "route.html",
        status=status,
        event_type=event_type,
        project=project,
        projects=projects,
        text=text,
        problem=problem,
    )


@router.get("/notifications/routes/{event_type}")
async def route_page(
    event_type: EventType, visit: VisitDep, project: ProjectChoice = ""
) -> Response:
    """Who hears of `event_type` in `project` (or in every project), one recipient a line."""
    user = visit.require(Page.NOTIFICATIONS)
    routes = await visit.console.notify.get_list(user.token, "/v1/routes", _params(project))
    current = next((r for r in routes if r.get("event_type") == event_type), None)
    text = targets_text(current.get("targets", []) if current else [])
    return await _route_form(visit, event_type, project, text, None)


@router.post("/notifications/routes/{event_type}")
async def set_route(event_type: EventType, visit: VisitDep) -> Response:
    """Replace the route of `event_type` for the project chosen (or every project)."""
    user = visit.require(Page.NOTIFICATIONS)
    form = await visit.form()
    project = form.get("project", "")
    text = form.get("targets", "")
    targets, bad = parse_targets(text)
    if bad:
        problem = visit.gettext(
            "Each line is a recipient and a template, e.g. \u201cowner completed\u201d: %(line)s",
            line=bad,
        )
        return await _route_form(visit, event_type, project, text, problem, status=422)
    try:
        await visit.console.notify.put(
            user.token, f"/v1/routes/{event_type}", {"targets": targets}, _params(project)
        )
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        problem = visit.gettext("notify refused: %(detail)s", detail=exc.detail)
        return await _route_form(visit, event_type, project, text, problem, status=422)
    visit.note(visit.gettext("Who hears of %(event)s saved.", event=event_type))
    return visit.redirect(_home(project))
