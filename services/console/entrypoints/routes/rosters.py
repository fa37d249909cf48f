"""Supervisors and project managers: a project's roster and its dispatch rules, in forms.

Written through dispatch's API with the user's own token (`PUT .../roster`,
`PUT .../dispatch-rules/{category}`): the next report is offered by what is saved here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.console.domain import setup_forms as forms
from services.console.domain.roles import Page
from services.console.entrypoints.editing import form_problem, refusal
from services.console.entrypoints.labels import CATEGORIES, N_
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.routes.setup import directory, home, trades_with
from services.console.entrypoints.web import Visit
from services.console.service_layer.ports import Json

router = APIRouter(include_in_schema=False)

Project = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,64}$")]
Category = Annotated[str, Path(pattern=r"^(\*|[a-z0-9_-]{1,64})$")]
ROSTER_FIELDS = {
    "name": N_("Shift"),
    "team": N_("Team"),
    "kind": N_("When"),
    "start1": N_("Hours"),
    "start2": N_("Second hours"),
    "cycle_days": N_("Cycle of days"),
    "anchor": N_("Cycle starts on"),
}
RULE_FIELDS = {
    "category": N_("Category"),
    "mode": N_("How orders are dispatched"),
    "trade": N_("Trade needed"),
    "load_limit": N_("Open orders above which a technician gets no more"),
    "offer_minutes": N_("Minutes an offer waits"),
    "max_attempts": N_("Offers before the pending queue"),
}
NEW_CATEGORY = "new"
"""The URL segment of the form for a category without a rule yet."""


def named_in(roster: Json) -> set[str]:
    """Everyone the roster names: shift members, the on-call list, the receiver."""
    named = {str(m) for s in roster.get("shifts") or [] for m in s.get("members") or []}
    named.update(str(p) for p in roster.get("on_call") or [])
    if roster.get("receiver"):
        named.add(str(roster["receiver"]))
    return named


async def _roster_form(
    visit: Visit,
    project: str,
    roster: Json,
    typed: dict[str, str],
    problem: str | None = None,
    status: int = 200,
) -> Response:
    user = visit.require(Page.SETUP)
    staff, teams = await directory(visit, user, project)
    # People the roster names but the directory does not show stay choosable.
    shown = {str(m.get("id")) for m in staff}
    people = staff + [{"id": p, "name": p} for p in sorted(named_in(roster) - shown)]
    shifts = list(roster.get("shifts") or [])
    # One blank shift to add; the form keeps at most MAX_SHIFTS.
    if len(shifts) < forms.MAX_SHIFTS:
        shifts.append({})
    return visit.render(
        "setup_roster.html",
        status=status,
        project=project,
        roster=roster,
        shifts=shifts,
        people=people,
        teams=teams,
        kinds=forms.CALENDAR_KINDS,
        typed=typed,
        problem=problem,
    )


@router.get("/setup/projects/{project}/roster")
async def roster_page(project: Project, visit: VisitDep) -> Response:
    """The project's shifts, on-call list and designated receiver."""
    user = visit.require(Page.SETUP)
    roster = await visit.console.dispatch.get(user.token, f"/v1/projects/{project}/roster")
    return await _roster_form(visit, project, roster, {})


@router.post("/setup/projects/{project}/roster")
async def set_roster(project: Project, visit: VisitDep) -> Response:
    """Replace the project's roster with the form's shifts."""
    user = visit.require(Page.SETUP)
    form = await visit.form()
    api = visit.console.dispatch
    path = f"/v1/projects/{project}/roster"
    before = await api.get(user.token, path)
    _, teams = await directory(visit, user, project)
    try:
        roster = forms.roster(form, [str(t["id"]) for t in teams], before)
    except forms.FormProblem as exc:
        unread = form_problem(visit, exc, ROSTER_FIELDS)
        return await _roster_form(visit, project, before, form, unread, 422)
    _, problem = await refusal(visit, api.put(user.token, path, roster))
    if problem is not None:
        return await _roster_form(visit, project, before, form, problem, status=422)
    visit.note(visit.gettext("The roster of %(project)s saved.", project=project))
    return visit.redirect(home(project))


async def _rule_form(
    visit: Visit,
    project: str,
    category: str | None,
    rule: Json,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    user = visit.require(Page.SETUP)
    _, teams = await directory(visit, user, project)
    trades = trades_with(rule.get("trade") and [rule["trade"]], *(t.get("trades") for t in teams))
    return visit.render(
        "setup_rule.html",
        status=status,
        project=project,
        category=category,
        categories=["*", *CATEGORIES],
        rule=rule,
        trades=trades,
        modes=forms.DISPATCH_MODES,
        problem=problem,
    )


@router.get("/setup/projects/{project}/rules/{category}")
async def rule_page(project: Project, category: Category, visit: VisitDep) -> Response:
    """How one category of the project is dispatched (`new`: a category without a rule)."""
    user = visit.require(Page.SETUP)
    if category == NEW_CATEGORY:
        return await _rule_form(visit, project, None, {"mode": "auto"})
    listed = await visit.console.dispatch.get(user.token, f"/v1/projects/{project}/dispatch-rules")
    found = next((r for r in listed.get("items", []) if r.get("category") == category), None)
    rule = found or {"mode": "auto", "category": category}
    return await _rule_form(visit, project, category, rule)


@router.post("/setup/projects/{project}/rules/{category}")
async def set_rule(project: Project, category: Category, visit: VisitDep) -> Response:
    """Set the dispatch mode, trade and limits of one category of the project."""
    user = visit.require(Page.SETUP)
    form = await visit.form()
    chosen = form.get("category", "") if category == NEW_CATEGORY else category
    shown: Json = {
        "category": chosen,
        "mode": form.get("mode", ""),
        "trade": form.get("trade", ""),
        "load_limit": form.get("load_limit", ""),
        "offer_minutes": form.get("offer_minutes", ""),
        "max_attempts": form.get("max_attempts", ""),
    }
    own = None if category == NEW_CATEGORY else category
    try:
        if not forms.CATEGORY.match(chosen) or chosen == NEW_CATEGORY:
            raise forms.FormProblem("category", "Pick one of the choices.")
        rule = forms.dispatch_rule(form)
    except forms.FormProblem as exc:
        return await _rule_form(
            visit, project, own, shown, form_problem(visit, exc, RULE_FIELDS), 422
        )
    path = f"/v1/projects/{project}/dispatch-rules/{chosen}"
    _, problem = await refusal(visit, visit.console.dispatch.put(user.token, path, rule))
    if problem is not None:
        return await _rule_form(visit, project, own, shown, problem, status=422)
    visit.note(visit.gettext("The dispatch rule of %(category)s saved.", category=chosen))
    return visit.redirect(home(project))
