"""The technician's phone page: offers, my orders, and each step as one tap and a confirmation."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from services.console.domain.orders import Action, next_action, other_actions
from services.console.domain.roles import Page
from services.console.entrypoints.commanding import confirmation, give
from services.console.entrypoints.forms import FORMS
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.routes.dispatch import OrderId
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards

router = APIRouter(include_in_schema=False)

ActionPath = Annotated[Action, Path()]
HOME = "/tech"


async def _board(visit: Visit) -> dict[str, Any]:
    user = visit.require(Page.TECH)
    api = visit.console.dispatch
    projects, board = await asyncio.gather(
        boards.projects(api, user), boards.technician_board(api, user)
    )
    return {
        "projects": projects,
        "board": board,
        "next_action": next_action,
        "other_actions": other_actions,
    }


@router.get("/tech")
async def tech_page(visit: VisitDep) -> Response:
    """Offers to answer and the orders assigned to me."""
    return visit.render("tech.html", **await _board(visit))


@router.get("/tech/live")
async def tech_live(visit: VisitDep) -> Response:
    """The lists of the page, for its script."""
    return visit.fragment("tech_board.html", **await _board(visit))


@router.get("/tech/orders/{order_id}/{action}")
async def confirm(order_id: OrderId, action: ActionPath, visit: VisitDep) -> Response:
    """Ask before doing: the step, the order and its address, what it needs, Confirm or Back."""
    user = visit.require(Page.TECH)
    return await confirmation(visit, user, order_id, FORMS[action], HOME)


@router.post("/tech/orders/{order_id}/{action}")
async def act(order_id: OrderId, action: ActionPath, visit: VisitDep) -> Response:
    """Give the confirmed command to dispatch, then back to the list."""
    user = visit.require(Page.TECH)
    return await give(visit, user, order_id, FORMS[action], HOME)
