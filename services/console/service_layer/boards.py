"""What each role's page shows, read from dispatch with the user's token.

Each function returns plain data for the templates: work orders as dispatch gives them,
with the project they belong to; the templates format times in the project's zone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.console.domain.orders import Step, steps
from services.console.domain.session import SignedIn
from services.console.service_layer.ports import DispatchPort, Json, NotifyPort, UpstreamError
from shared.privacy.masking import mask_phone

MY_ORDERS_SHOWN = 20
"""Customer service's most recent orders shown with their steps (one history read each)."""
QUEUE_SCAN = 200
"""Unassigned orders read for the dispatcher's board (dispatch's page limit)."""


async def projects(dispatch: DispatchPort, user: SignedIn) -> dict[str, Json]:
    """The registered projects the user may see, by slug."""
    body = await dispatch.get(user.token, "/v1/projects")
    return {str(p["project"]): p for p in body.get("items", [])}


@dataclass(frozen=True)
class TrackedOrder:
    """A work order with the steps it went through."""

    order: Json
    steps: list[Step]


async def my_orders(dispatch: DispatchPort, user: SignedIn) -> list[TrackedOrder]:
    """The orders the user owns (首按责任制), newest first, each with its steps."""
    body = await dispatch.get(
        user.token, "/v1/work-orders", {"owner": user.subject, "limit": MY_ORDERS_SHOWN}
    )
    orders: list[Json] = body.get("items", [])
    histories = await asyncio.gather(
        *(dispatch.get(user.token, f"/v1/work-orders/{o['id']}/events") for o in orders)
    )
    return [
        TrackedOrder(order, steps(history.get("items", [])))
        for order, history in zip(orders, histories, strict=True)
    ]


@dataclass(frozen=True)
class DispatchBoard:
    """The dispatcher's board: what waits for someone, what is offered, what breaches next."""

    waiting: list[Json] = field(default_factory=list)
    """Unassigned orders nobody holds an offer of, oldest first (the pending queue among them)."""
    offered: list[Json] = field(default_factory=list)
    """Unassigned orders with open offers: who holds them and until when."""
    at_risk: list[Json] = field(default_factory=list)
    """The next breaches: clock, due time, and the order it belongs to (when readable)."""


async def dispatch_board(dispatch: DispatchPort, user: SignedIn) -> DispatchBoard:
    """Read the board: unassigned reported orders and the clocks at risk."""
    unassigned, risk = await asyncio.gather(
        dispatch.get(user.token, "/v1/work-orders", {"status": "reported", "limit": QUEUE_SCAN}),
        dispatch.get(user.token, "/v1/sla/at-risk", {"limit": 50}),
    )
    orders: list[Json] = [o for o in unassigned.get("items", []) if not o.get("assignee")]
    orders.sort(key=lambda o: str(o.get("reported_at", "")))
    by_id = {str(o["id"]): o for o in orders}
    at_risk = [
        {**item, "order": by_id.get(str(item.get("work_order_id")))}
        for item in risk.get("items", [])
    ]
    return DispatchBoard(
        waiting=[o for o in orders if not o.get("offered_to")],
        offered=[o for o in orders if o.get("offered_to")],
        at_risk=at_risk,
    )


@dataclass(frozen=True)
class TechnicianBoard:
    """A technician's phone page: the offers they hold and the orders assigned to them."""

    offers: list[Json]
    assigned: list[Json]


OPEN_FOR_TECHNICIAN = ("assigned", "on_site", "in_progress", "paused")


async def technician_board(dispatch: DispatchPort, user: SignedIn) -> TechnicianBoard:
    """The offers the technician holds, and their open orders, oldest first."""
    offers, mine = await asyncio.gather(
        dispatch.get(user.token, "/v1/work-orders", {"offered_to": user.subject, "limit": 50}),
        dispatch.get(user.token, "/v1/work-orders", {"assignee": user.subject, "limit": 100}),
    )
    assigned: list[Any] = [
        o for o in mine.get("items", []) if o.get("status") in OPEN_FOR_TECHNICIAN
    ]
    assigned.sort(key=lambda o: str(o.get("assigned_at") or o.get("reported_at") or ""))
    return TechnicianBoard(offers=offers.get("items", []), assigned=assigned)


async def complaints_to_rule(dispatch: DispatchPort, user: SignedIn) -> list[Json]:
    """Complaints nobody has ruled on yet (valid or not), oldest first (not the cancelled)."""
    body = await dispatch.get(
        user.token, "/v1/work-orders", {"kind": "complaint", "limit": QUEUE_SCAN}
    )
    found: list[Json] = [
        o
        for o in body.get("items", [])
        if o.get("complaint_valid") is None and o.get("status") != "cancelled"
    ]
    found.sort(key=lambda o: str(o.get("reported_at", "")))
    return found


@dataclass(frozen=True)
class OwedMonth:
    """One project's follow-up visits this month: the counts, and each owed visit's order."""

    project: str
    month: Json
    """dispatch's answer: month, completed repairs, required visits, visited, shortfall."""
    owed: list[Json]
    """The owed items (`work_order_id`, `first_completed_at`, `because`) with their `order`."""


async def follow_ups_owed(
    dispatch: DispatchPort, user: SignedIn, slugs: list[str]
) -> list[OwedMonth]:
    """The follow-up visits still owed this month in each of `slugs`, with their orders."""
    months = await asyncio.gather(
        *(dispatch.get(user.token, "/v1/follow-ups/owed", {"project": slug}) for slug in slugs)
    )
    ids = [str(item["work_order_id"]) for month in months for item in month.get("owed", [])]
    orders = await asyncio.gather(
        *(dispatch.get(user.token, f"/v1/work-orders/{order_id}") for order_id in ids)
    )
    by_id = {str(order["id"]): order for order in orders}
    return [
        OwedMonth(
            project=slug,
            month=month,
            owed=[
                {**item, "order": by_id.get(str(item["work_order_id"]))}
                for item in month.get("owed", [])
            ],
        )
        for slug, month in zip(slugs, months, strict=True)
    ]


@dataclass(frozen=True)
class MessagesSent:
    """What SMS and e-mail sent (the development outbox), about an order or to an address."""

    messages: list[Json]
    order: Json | None
    """The order asked about, when one was (for its number and its project's zone)."""
    available: bool = True
    """False where notify keeps no development outbox (outside development)."""


async def messages_sent(
    dispatch: DispatchPort,
    notify: NotifyPort,
    user: SignedIn,
    order_id: str | None,
    address: str | None,
) -> MessagesSent:
    """The messages notify's development outbox kept for `order_id` or `address`.

    The outbox keeps a resident's phone masked, so a phone is looked for by its mask
    (masks are idempotent: a mask asked for finds itself)."""
    if address and "@" not in address:
        address = mask_phone(address)
    params = {"work_order_id": order_id} if order_id else {"address": address or ""}
    order = await dispatch.get(user.token, f"/v1/work-orders/{order_id}") if order_id else None
    try:
        body = await notify.get(user.token, "/v1/dev-outbox", {**params, "limit": 200})
    except UpstreamError as exc:
        if exc.code != "not_found":
            raise
        return MessagesSent([], order, available=False)
    return MessagesSent(body.get("items", []), order)
