"""Customer service: take a call in one form, and follow the orders one owns (客服)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from services.console.domain.orders import (
    CATEGORIES,
    ServiceStep,
    building_names,
    order_label,
    service_steps,
)
from services.console.domain.residents import building_units, picked, units_by_building
from services.console.domain.roles import MANAGERS, Page
from services.console.domain.session import SignedIn
from services.console.entrypoints.commanding import confirmation, give
from services.console.entrypoints.forms import FORMS
from services.console.entrypoints.labels import N_
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.routes.dispatch import OrderId
from services.console.entrypoints.web import PageRefused, Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json, UpstreamError
from services.console.service_layer.residents import residents_by_phone
from shared.privacy.masking import mask_phone

router = APIRouter(include_in_schema=False)

StepPath = Annotated[ServiceStep, Path()]

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
    """The projects, the orders I own with their steps, and (for those who rule on them)
    the complaints not ruled yet: the page's live part."""
    user = visit.require(Page.CALLS)
    api = visit.console.dispatch
    may_rule = user.role in MANAGERS
    projects, tracked, complaints = await asyncio.gather(
        boards.projects(api, user),
        boards.my_orders(api, user),
        boards.complaints_to_rule(api, user) if may_rule else _nothing(),
    )
    return {
        "projects": projects,
        "tracked": tracked,
        "complaints": complaints,
        "may_rule": may_rule,
        "service_steps": service_steps,
    }


async def _nothing() -> list[Any]:
    return []


async def _page(
    visit: Visit,
    values: dict[str, str],
    key: str,
    problem: str | None,
    status: int = 200,
    residents: list[Json] | None = None,
    focus: str | None = None,
) -> Response:
    """The form with `values`; `residents` are the matches of a phone search (None: no
    search made); `focus` is the field the keyboard is to be in."""
    live = await _my_orders(visit)
    return visit.render(
        "calls.html",
        status=status,
        categories=CATEGORIES,
        values=values,
        key=key,
        problem=problem,
        residents=residents,
        focus=focus,
        units=units_by_building(live["projects"]),
        **live,
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
    if form.get("action") == "search" or form.get("pick"):
        return await _find_caller(visit, user, values, key, form.get("pick", ""))
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
    units = building_units(projects[values["project"]], values["building"])
    if values["unit"] and units and values["unit"] not in units:
        problem = visit.gettext("That unit is not in the building: pick one of its units.")
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


async def _find_caller(
    visit: Visit, user: SignedIn, values: dict[str, str], key: str, choice: str
) -> Response:
    """Search the residents who called from the form's phone before; with `choice` (a
    match picked), fill in their name, building and unit. Everything typed is kept."""
    if not values["phone"]:
        problem = visit.gettext("Type the caller's phone number, then search.")
        return await _page(visit, values, key, problem, status=422)
    try:
        found = await residents_by_phone(visit.console.dispatch, user, values["phone"])
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        problem = visit.gettext("dispatch refused the search: %(detail)s", detail=exc.detail)
        return await _page(visit, values, key, problem, status=422)
    if choice:
        filled = picked(values, found, choice)
        if filled is None:
            problem = visit.gettext("That resident is no longer among the matches: pick again.")
            return await _page(visit, values, key, problem, status=422, residents=found)
        # Filled in: on with the call, from what is wrong.
        return await _page(visit, filled, key, None, focus="description")
    return await _page(visit, values, key, None, residents=found)


def _back(step: ServiceStep) -> str:
    """Where a step's page leads back to: the follow-up list for a follow-up, else the calls."""
    return f"/{Page.FOLLOW_UPS}" if step is ServiceStep.FOLLOW_UP else f"/{Page.CALLS}"


def _page_of(step: ServiceStep) -> Page:
    return Page.FOLLOW_UPS if step is ServiceStep.FOLLOW_UP else Page.CALLS


@router.get("/calls/orders/{order_id}/{step}")
async def confirm_step(order_id: OrderId, step: StepPath, visit: VisitDep) -> Response:
    """Ask before doing: the order, what the step needs (words, a rating, a person), Confirm."""
    user = visit.require(_page_of(step))
    return await confirmation(visit, user, order_id, FORMS[step], _back(step))


@router.post("/calls/orders/{order_id}/{step}")
async def take_step(order_id: OrderId, step: StepPath, visit: VisitDep) -> Response:
    """Give the confirmed step to dispatch, then back to the list it was started from."""
    user = visit.require(_page_of(step))
    return await give(visit, user, order_id, FORMS[step], _back(step))


async def _owed(visit: Visit) -> dict[str, Any]:
    user = visit.require(Page.FOLLOW_UPS)
    api = visit.console.dispatch
    projects = await boards.projects(api, user)
    months = await boards.follow_ups_owed(api, user, sorted(projects))
    return {"projects": projects, "months": months}


@router.get("/follow-ups")
async def follow_ups(visit: VisitDep) -> Response:
    """The follow-up visits still owed this month, per project, each with its rating form."""
    return visit.render("follow_ups.html", **await _owed(visit))


@router.get("/follow-ups/live")
async def follow_ups_live(visit: VisitDep) -> Response:
    """The owed visits, re-read by the page."""
    return visit.fragment("follow_ups_list.html", **await _owed(visit))


OrderQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
PhoneQuery = Annotated[str | None, Query(pattern=r"^[0-9+() -]{3,32}$")]


async def _messages(visit: Visit, order: str | None, phone: str | None) -> dict[str, Any]:
    user = visit.require(Page.CALLS)
    if not order and not phone:
        raise PageRefused(visit.gettext("Say which order or which phone number."))
    api = visit.console.dispatch
    # notify keeps a resident's SMS under the masked phone (the report events carry no
    # clear one): the phone is looked up as its mask. The development outbox exists on a
    # local stack only, where two residents sharing a mask is no disclosure.
    address = mask_phone(phone) if phone else None
    projects, sent = await asyncio.gather(
        boards.projects(api, user),
        boards.messages_sent(api, visit.console.notify, user, order, address),
    )
    return {"projects": projects, "sent": sent, "phone": phone, "query": visit.request.url.query}


@router.get("/calls/messages")
async def messages_page(
    visit: VisitDep, order: OrderQuery = None, phone: PhoneQuery = None
) -> Response:
    """What residents received: the SMS and e-mail sent about an order or to a phone."""
    return visit.render("messages.html", **await _messages(visit, order, phone))


@router.get("/calls/messages/live")
async def messages_live(
    visit: VisitDep, order: OrderQuery = None, phone: PhoneQuery = None
) -> Response:
    """The messages, re-read by the page."""
    return visit.fragment("messages_list.html", **await _messages(visit, order, phone))


FIELD_WORDS = {
    "project": N_("Project"),
    "name": N_("Resident's name"),
    "description": N_("What is wrong"),
}
