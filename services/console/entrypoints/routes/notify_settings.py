"""Supervisors and project managers: notify's roles (who holds each) and its tenant settings.

Through notify's configuration API with the user's token. Each form carries the
configuration's version read with it (`ETag`) and sends it back as `If-Match`, so a
change made meanwhile by someone else is refused and the form shows the new state.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.console.domain import setup_forms as forms
from services.console.domain.roles import Page
from services.console.entrypoints import labels
from services.console.entrypoints.editing import form_problem, refusal
from services.console.entrypoints.labels import N_, NOTIFY_CHANNELS
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json

router = APIRouter(include_in_schema=False)

RoleName = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")]
ProjectChoice = Annotated[str, Query(pattern=r"^[a-z0-9_-]{0,64}$")]
HOME = f"/{Page.NOTIFICATIONS}"
RESIDENT_CHANNELS = ("sms", "email", "webhook", "inbox")
"""The channels notify may reach residents on (robots are for staff groups)."""

SETTINGS_FIELDS = {
    "resident_channels": N_("How residents are reached"),
    "resident_language": N_("Residents' language"),
    "day_start": N_("Residents may be contacted"),
    "start1": N_("Quiet window"),
    "start2": N_("Second quiet window"),
    "digest_threshold": N_("Alerts before a digest"),
    "digest_minutes": N_("Digest window (minutes)"),
}


def _params(project: str) -> dict[str, str] | None:
    return {"project": project} if project else None


def _back(project: str) -> str:
    return f"{HOME}?project={project}" if project else HOME


async def _role_form(
    visit: Visit,
    role: str,
    project: str,
    people: list[str],
    etag: str | None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    user = visit.require(Page.NOTIFICATIONS)
    notify = visit.console.notify
    projects, contacts = await asyncio.gather(
        boards.projects(visit.console.dispatch, user),
        notify.get_list(user.token, "/v1/contacts"),
    )
    return visit.render(
        "notify_role.html",
        status=status,
        role=role,
        project=project,
        projects=projects,
        people=people,
        contacts=contacts,
        etag=etag or "",
        problem=problem,
    )


async def _held(visit: Visit, role: str, project: str) -> tuple[list[str], str | None]:
    user = visit.require(Page.NOTIFICATIONS)
    read = await visit.console.notify.read(user.token, "/v1/roles", _params(project))
    roles = read.body if isinstance(read.body, list) else []
    found = next((r for r in roles if r.get("role") == role), None)
    return [str(p) for p in (found or {}).get("people", [])], read.etag


@router.get("/notifications/roles")
async def pick_role(
    visit: VisitDep,
    role: Annotated[str, Query(pattern=r"^[a-z_]{1,40}$")],
    project: ProjectChoice = "",
) -> Response:
    """The role picked on the notifications page: its form."""
    visit.require(Page.NOTIFICATIONS)
    query = f"?project={project}" if project else ""
    return visit.redirect(f"/notifications/roles/{role}{query}")


@router.get("/notifications/roles/{role}")
async def role_page(role: RoleName, visit: VisitDep, project: ProjectChoice = "") -> Response:
    """Who holds `role` in `project` (or in every project), ticked among the contacts."""
    people, etag = await _held(visit, role, project)
    return await _role_form(visit, role, project, people, etag)


@router.post("/notifications/roles/{role}")
async def set_role(role: RoleName, visit: VisitDep) -> Response:
    """Set who holds `role`, unless notify's configuration changed since the form was read."""
    user = visit.require(Page.NOTIFICATIONS)
    form = await visit.form()
    project = form.get("project", "")
    if project and not forms.SLUG.match(project):
        project = ""
    people = forms.checked(form, "person")
    _, problem = await refusal(
        visit,
        visit.console.notify.put(
            user.token,
            f"/v1/roles/{role}",
            {"people": people},
            _params(project),
            if_match=form.get("etag") or None,
        ),
    )
    if problem is not None:
        held, etag = await _held(visit, role, project)
        return await _role_form(visit, role, project, held, etag, problem, status=422)
    words = visit.gettext(labels.word(labels.ROLES, role))
    visit.note(visit.gettext("Who holds %(role)s saved.", role=words))
    return visit.redirect(_back(project))


async def _settings_form(
    visit: Visit,
    settings: Json,
    etag: str | None,
    problem: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    user = visit.require(Page.NOTIFICATIONS)
    contacts = await visit.console.notify.get_list(user.token, "/v1/contacts")
    return visit.render(
        "notify_settings.html",
        status=status,
        settings=settings,
        etag=etag or "",
        contacts=contacts,
        channels={c: NOTIFY_CHANNELS[c] for c in RESIDENT_CHANNELS},
        clock_time=forms.clock_time,
        typed=typed or {},
        problem=problem,
    )


@router.get("/notifications/settings")
async def settings_page(visit: VisitDep) -> Response:
    """How residents are reached, quiet hours, digests and the operator contact."""
    user = visit.require(Page.NOTIFICATIONS)
    read = await visit.console.notify.read(user.token, "/v1/notify-settings")
    return await _settings_form(visit, read.body, read.etag)


@router.post("/notifications/settings")
async def set_settings(visit: VisitDep) -> Response:
    """Change the tenant's settings (notify asks for a token of every project)."""
    user = visit.require(Page.NOTIFICATIONS)
    form = await visit.form()
    notify = visit.console.notify
    read = await notify.read(user.token, "/v1/notify-settings")
    try:
        body = forms.notify_settings(form, read.body, RESIDENT_CHANNELS)
    except forms.FormProblem as exc:
        unread = form_problem(visit, exc, SETTINGS_FIELDS)
        return await _settings_form(visit, read.body, form.get("etag"), unread, 422, form)
    _, problem = await refusal(
        visit,
        notify.put(user.token, "/v1/notify-settings", body, if_match=form.get("etag") or None),
    )
    if problem is not None:
        again = await notify.read(user.token, "/v1/notify-settings")
        return await _settings_form(visit, again.body, again.etag, problem, status=422)
    visit.note(visit.gettext("notify's settings saved."))
    return visit.redirect(HOME)
