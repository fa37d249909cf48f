"""The dispatcher: pending queue, open offers, at-risk clocks, and assigning (调度)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from services.console.domain.orders import order_label
from services.console.domain.roles import MANAGERS, Page
from services.console.domain.session import SignedIn
from services.console.entrypoints.commanding import confirmation, give
from services.console.entrypoints.forms import FORMS
from services.console.entrypoints.reasons import ineligible_reason, suggestion_reasons
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import PageRefused, Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import UpstreamError

router = APIRouter(include_in_schema=False)

OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


async def _board(visit: Visit) -> dict[str, Any]:
    user = visit.require(Page.DISPATCH)
    api = visit.console.dispatch
    projects, board = await asyncio.gather(
        boards.projects(api, user), boards.dispatch_board(api, user)
    )
    return {"projects": projects, "board": board}


@router.get("/dispatch")
async def dispatch_page(visit: VisitDep) -> Response:
    """The board, re-read live by the page."""
    return visit.render("dispatch.html", **await _board(visit))


@router.get("/dispatch/live")
async def dispatch_live(visit: VisitDep) -> Response:
    """The board's lists, for the page's script."""
    return visit.fragment("dispatch_board.html", **await _board(visit))


@router.get("/dispatch/orders/{order_id}")
async def order_page(order_id: OrderId, visit: VisitDep) -> Response:
    """One order and who to send: dispatch's ranked suggestions with their reasons."""
    user = visit.require(Page.DISPATCH)
    api = visit.console.dispatch
    order = await api.get(user.token, f"/v1/work-orders/{order_id}")
    suggestions = await api.get(user.token, f"/v1/work-orders/{order_id}/suggestions")
    projects = await boards.projects(api, user)
    staff = await api.get(user.token, "/v1/staff", {"project": order["project"]})
    names = {str(m["id"]): str(m.get("name") or m["id"]) for m in staff.get("items", [])}
    return visit.render(
        "assign.html",
        names=names,
        order=order,
        may_override=user.role in MANAGERS,
        suggestions=suggestions,
        reasons_of=lambda s: suggestion_reasons(s, projects, visit.gettext),
        why_of=lambda n: ineligible_reason(n, visit.gettext),
        projects=projects,
        key=str(uuid.uuid4()),
        problem=None,
    )


@router.post("/dispatch/orders/{order_id}/assign")
async def assign(order_id: OrderId, visit: VisitDep) -> Response:
    """Send the technician picked from the suggestions."""
    user = visit.require(Page.DISPATCH)
    form = await visit.form()
    api = visit.console.dispatch
    headers = {"Idempotency-Key": form["key"]} if form.get("key") else None
    try:
        order = await api.post(
            user.token,
            f"/v1/work-orders/{order_id}/assign",
            {"assignee": form.get("assignee", "")},
            headers,
        )
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        visit.note(visit.gettext("dispatch refused the assignment: %(detail)s", detail=exc.detail))
        return visit.redirect(f"/dispatch/orders/{order_id}")
    visit.note(
        visit.gettext(
            "%(order)s assigned to %(person)s.", order=order_label(order), person=order["assignee"]
        )
    )
    return visit.redirect("/dispatch")


def _manager(visit: Visit) -> SignedIn:
    user = visit.require(Page.DISPATCH)
    if user.role not in MANAGERS:
        raise PageRefused(visit.gettext("Only supervisors and project managers grant overrides."))
    return user


@router.get("/dispatch/orders/{order_id}/postpone")
async def confirm_postponement(order_id: OrderId, visit: VisitDep) -> Response:
    """A second postponement, as a supervisor's or project manager's override: the new time
    (on the project's clock), why, and why the override."""
    user = _manager(visit)
    return await confirmation(visit, user, order_id, FORMS["postpone"], "/dispatch")


@router.post("/dispatch/orders/{order_id}/postpone")
async def postpone(order_id: OrderId, visit: VisitDep) -> Response:
    """Give the postponement with its override reason to dispatch."""
    user = _manager(visit)
    return await give(visit, user, order_id, FORMS["postpone"], "/dispatch")
