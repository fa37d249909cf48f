"""The technician's phone page: offers, my orders, and each step as one tap and a confirmation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from services.console.domain.orders import NEEDS_NOTE, Action, next_action, order_label
from services.console.domain.roles import Page
from services.console.entrypoints.labels import DONE
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.routes.dispatch import OrderId
from services.console.entrypoints.web import PageRefused, Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json, UpstreamError

router = APIRouter(include_in_schema=False)

ActionPath = Annotated[Action, Path()]


async def _board(visit: Visit) -> dict[str, Any]:
    user = visit.require(Page.TECH)
    api = visit.console.dispatch
    projects, board = await asyncio.gather(
        boards.projects(api, user), boards.technician_board(api, user)
    )
    return {"projects": projects, "board": board, "next_action": next_action}


@router.get("/tech")
async def tech_page(visit: VisitDep) -> Response:
    """Offers to answer and the orders assigned to me."""
    return visit.render("tech.html", **await _board(visit))


@router.get("/tech/live")
async def tech_live(visit: VisitDep) -> Response:
    """The lists of the page, for its script."""
    return visit.fragment("tech_board.html", **await _board(visit))


async def _confirmation(
    visit: Visit, order_id: str, action: Action, problem: str | None, status: int = 200
) -> Response:
    user = visit.require(Page.TECH)
    api = visit.console.dispatch
    order = await api.get(user.token, f"/v1/work-orders/{order_id}")
    projects = await boards.projects(api, user)
    return visit.render(
        "confirm.html",
        status=status,
        order=order,
        action=action,
        needs_note=action in NEEDS_NOTE,
        projects=projects,
        key=str(uuid.uuid4()),
        problem=problem,
    )


@router.get("/tech/orders/{order_id}/{action}")
async def confirm(order_id: OrderId, action: ActionPath, visit: VisitDep) -> Response:
    """Ask before doing: the step, the order and its address, Confirm or Back."""
    return await _confirmation(visit, order_id, action, None)


def command_body(action: Action, form: dict[str, str]) -> Json | None:
    """The command's body from the confirmation form."""
    note = form.get("note", "").strip()
    if action is Action.COMPLETE:
        return {"summary": note}
    if action is Action.DECLINE and note:
        return {"reason": note}
    return None


@router.post("/tech/orders/{order_id}/{action}")
async def act(order_id: OrderId, action: ActionPath, visit: VisitDep) -> Response:
    """Give the confirmed command to dispatch, then back to the list."""
    user = visit.require(Page.TECH)
    form = await visit.form()
    if action in NEEDS_NOTE and not form.get("note", "").strip():
        problem = visit.gettext("Say what was done.")
        return await _confirmation(visit, order_id, action, problem, status=422)
    key = form.get("key", "")
    try:
        uuid.UUID(key)
    except ValueError as exc:
        raise PageRefused(visit.gettext("The form had expired; try again.")) from exc
    try:
        order: dict[str, Any] = await visit.console.dispatch.post(
            user.token,
            f"/v1/work-orders/{order_id}/{action}",
            command_body(action, form),
            {"Idempotency-Key": key},
        )
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        problem = visit.gettext("dispatch refused: %(detail)s", detail=exc.detail)
        return await _confirmation(visit, order_id, action, problem, status=409)
    visit.note(visit.gettext(DONE[action], order=order_label(order)))
    return visit.redirect("/tech")
