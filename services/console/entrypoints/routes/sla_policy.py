"""Project managers and headquarters: the SLA policy's targets, previewed then published.

The form edits the current policy's clock targets, calendars and warning thresholds.
"Preview" asks dispatch how the draft would move the running clocks
(`POST /v1/sla/policies/preview`, which records nothing) and shows each order's due
time now and under the draft; only from that page is the draft published. Dispatch
decides who may publish (project managers for their projects, headquarters for all).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.console.domain import setup_forms as forms
from services.console.domain.roles import MANAGERS, Page
from services.console.domain.session import SignedIn
from services.console.entrypoints.editing import STALE, form_problem, refusal
from services.console.entrypoints.labels import N_
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json

router = APIRouter(include_in_schema=False)

ProjectChoice = Annotated[str, Query(pattern=r"^[a-z0-9_-]{0,64}$")]
HOME = f"/{Page.SLA}"
WARNINGS = 4
"""How many warning thresholds the form offers."""

FIELDS = {
    "calendar": N_("Calendar"),
    "hours": N_("Time allowed"),
    "urgenthours": N_("Urgent target"),
    **{f"warning{n}": N_("Warn at (per cent of the target)") for n in range(WARNINGS)},
}


async def _current(visit: Visit, user: SignedIn, project: str) -> Json:
    params = {"project": project} if project else None
    return await visit.console.dispatch.get(user.token, "/v1/sla/policies/current", params)


async def _page(
    visit: Visit,
    user: SignedIn,
    project: str,
    current: Json,
    typed: dict[str, str],
    *,
    preview: Json | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    projects = await boards.projects(visit.console.dispatch, user)
    return visit.render(
        "sla_policy.html",
        status=status,
        project=project,
        projects=projects,
        policy=current,
        typed=typed,
        warnings=WARNINGS,
        hours_minutes=forms.hours_minutes,
        preview=preview,
        may_move=may_move(user),
        problem=problem,
    )


@router.get("/sla")
async def sla_page(visit: VisitDep, project: ProjectChoice = "") -> Response:
    """The policy governing `project`'s new clocks (or the tenant's), as a form."""
    user = visit.require(Page.SLA)
    current = await _current(visit, user, project)
    return await _page(visit, user, project, current, {})


async def _draft(
    visit: Visit, user: SignedIn
) -> tuple[str, Json, dict[str, str], Json | None, str | None]:
    """The project, current policy, form, draft (None: not readable) and problem."""
    form = await visit.form()
    project = form.get("policy_project", "")
    if project and not forms.SLUG.match(project):
        project = ""
    current = await _current(visit, user, project)
    if str(current.get("version")) != form.get("base_version"):
        # Published meanwhile: the form's rules were those of another version.
        return project, current, {}, None, visit.gettext(STALE)
    projects = await boards.projects(visit.console.dispatch, user)
    try:
        return project, current, form, forms.sla_draft(form, current, projects), None
    except forms.FormProblem as exc:
        return project, current, form, None, form_problem(visit, exc, FIELDS)


@router.post("/sla/preview")
async def preview(visit: VisitDep) -> Response:
    """The draft's effect on the running clocks, with the button that publishes it."""
    user = visit.require(Page.SLA)
    project, current, typed, draft, problem = await _draft(visit, user)
    answer: Json | None = None
    if draft is not None:
        api = visit.console.dispatch
        answer, problem = await refusal(
            visit, api.post(user.token, "/v1/sla/policies/preview", draft)
        )
    status = 200 if problem is None else 422
    return await _page(
        visit, user, project, current, typed, preview=answer, problem=problem, status=status
    )


@router.post("/sla/publish")
async def publish(visit: VisitDep) -> Response:
    """Publish the previewed draft as the next policy version and, when asked, move the
    running clocks the preview showed moving (`recalculate-sla` on each of their orders)."""
    user = visit.require(Page.SLA)
    project, current, typed, draft, problem = await _draft(visit, user)
    api = visit.console.dispatch
    moving: list[str] = []
    if draft is not None and typed.get("move") == "on" and may_move(user):
        # Asked again now: orders reported since the preview move too.
        answer, problem = await refusal(
            visit, api.post(user.token, "/v1/sla/policies/preview", draft)
        )
        moving = sorted(
            {
                str(i["work_order_id"])
                for i in (answer or {}).get("items", [])
                if i.get("change") != "unchanged"
            }
        )
    stored: Json | None = None
    if draft is not None and problem is None:
        stored, problem = await refusal(visit, api.post(user.token, "/v1/sla/policies", draft))
    if stored is None:
        return await _page(visit, user, project, current, typed, problem=problem, status=422)
    version = stored.get("version")
    visit.note(
        visit.gettext(
            "SLA policy version %(version)s published: new clocks run under it.", version=version
        )
    )
    if moving:
        stuck = await _recalculate(visit, user, moving, version)
        visit.note(
            visit.gettext(
                "Orders whose running clocks moved to it: %(count)s.",
                count=len(moving) - len(stuck),
            )
        )
        if stuck:
            visit.note(
                visit.gettext(
                    "These orders were not recalculated: %(orders)s.", orders=", ".join(stuck)
                )
            )
    return visit.redirect(f"{HOME}?project={project}" if project else HOME)


def may_move(user: SignedIn) -> bool:
    """Whether the user may move running clocks (dispatch recalculates for managers)."""
    return user.role in MANAGERS


async def _recalculate(
    visit: Visit, user: SignedIn, orders: list[str], version: object
) -> list[str]:
    """Recalculate each order on the new version; the orders dispatch refused, by id."""
    reason = {"reason": f"SLA policy version {version} published in the console"}
    stuck = []
    for order in orders:
        path = f"/v1/work-orders/{order}/recalculate-sla"
        _, problem = await refusal(visit, visit.console.dispatch.post(user.token, path, reason))
        if problem is not None:
            stuck.append(order[:8])
    return stuck
