"""Customer service: take a call in one form, and follow the orders one owns (客服)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Response

from services.console.domain.orders import CATEGORIES, building_names, order_label
from services.console.domain.roles import Page
from services.console.entrypoints.labels import N_
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json, UpstreamError

router = APIRouter(include_in_schema=False)

FIELDS: tuple[str, ...] = ("project", "building", "unit", "kind", "category", "urgency", "channel")
FIELDS += ("description", "name", "phone", "detail")


def blank_call() -> dict[str, str]:
    """The form as first shown: a repair reported by phone, normal urgency."""
    values = dict.fromkeys(FIELDS, "")
    values.update(kind="repair", urgency="normal", channel="phone", category="plumbing")
    return values


def report_body(values: dict[str, str]) -> Json:
    """dispatch's report command from the form's values (empty optional fields left out)."""
    location = {k: values[k] for k in ("building", "unit", "detail") if values.get(k)}
    reporter = {"name": values["name"]}
    if values.get("phone"):
        reporter["phone"] = values["phone"]
    return {
        "project": values["project"],
        "kind": values["kind"],
        "category": values["category"],
        "urgency": values["urgency"],
        "channel": values["channel"],
        "location": location,
        "reporter": reporter,
        "description": values["description"],
    }


def missing(values: dict[str, str]) -> list[str]:
    """The required fields left empty."""
    return [k for k in ("project", "name", "description") if not values.get(k, "").strip()]


async def _my_orders(visit: Visit) -> dict[str, Any]:
    """The projects and the orders I own with their steps (the page's live part)."""
    user = visit.require(Page.CALLS)
    api = visit.console.dispatch
    projects, tracked = await asyncio.gather(
        boards.projects(api, user), boards.my_orders(api, user)
    )
    return {"projects": projects, "tracked": tracked}


async def _page(
    visit: Visit, values: dict[str, str], key: str, problem: str | None, status: int = 200
) -> Response:
    return visit.render(
        "calls.html",
        status=status,
        categories=CATEGORIES,
        values=values,
        key=key,
        problem=problem,
        **await _my_orders(visit),
    )


@router.get("/calls")
async def calls(visit: VisitDep) -> Response:
    """The take-a-call form (a fresh idempotency key) and my orders."""
    return await _page(visit, blank_call(), str(uuid.uuid4()), None)


@router.get("/calls/live")
async def calls_live(visit: VisitDep) -> Response:
    """My orders with their steps, re-read by the page."""
    return visit.fragment("my_orders.html", **await _my_orders(visit))


@router.post("/calls")
async def take_call(visit: VisitDep) -> Response:
    """Report the call to dispatch; the form's key makes a second submit the same order."""
    user = visit.require(Page.CALLS)
    form = await visit.form()
    values = {k: form.get(k, "").strip() for k in FIELDS}
    key = form.get("key", "")
    try:
        uuid.UUID(key)
    except ValueError:
        key = str(uuid.uuid4())
    empty = missing(values)
    if empty:
        words = ", ".join(visit.gettext(FIELD_WORDS[k]) for k in empty)
        problem = visit.gettext("Fill in: %(fields)s", fields=words)
        return await _page(visit, values, key, problem, status=422)
    projects = await boards.projects(visit.console.dispatch, user)
    if values["project"] not in projects:
        return await _page(visit, values, key, visit.gettext("Pick a project."), status=422)
    if values["building"] and values["building"] not in building_names(projects[values["project"]]):
        problem = visit.gettext("That building is not in the project.")
        return await _page(visit, values, key, problem, status=422)
    try:
        created: dict[str, Any] = await visit.console.dispatch.post(
            user.token, "/v1/work-orders", report_body(values), {"Idempotency-Key": key}
        )
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        problem = visit.gettext("dispatch refused the call: %(detail)s", detail=exc.detail)
        return await _page(visit, values, key, problem, status=422)
    visit.note(visit.gettext("Order %(order)s recorded.", order=order_label(created)))
    return visit.redirect("/calls")


FIELD_WORDS = {
    "project": N_("Project"),
    "name": N_("Resident's name"),
    "description": N_("What is wrong"),
}
