"""One tap and a confirmation: the confirmation page of a command, and giving it to dispatch.

Every page that acts on an order (the technician's, customer service's) goes through
here: the page shows the order and the form's questions; the answer is checked, sent with
the form's idempotency key, and dispatch's refusal is shown on the same page, in the
user's words where dispatch's code is known.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import Response

from services.console.domain.orders import order_label
from services.console.domain.session import SignedIn
from services.console.entrypoints.forms import CommandForm, Kind, command_body
from services.console.entrypoints.labels import N_
from services.console.entrypoints.web import PageRefused, Visit
from services.console.service_layer import boards
from services.console.service_layer.ports import Json, UpstreamError

REFUSALS: Mapping[str, str] = {
    "appointment_not_due": N_(
        "The appointment (%(appointment)s) has not come yet: record that nobody was home "
        "only at or after the appointment."
    ),
    "no_appointment": N_("No appointment is booked for this order."),
}
"""dispatch's refusal codes the console says in the user's words (others: dispatch's)."""


async def _people(
    visit: Visit, user: SignedIn, form: CommandForm, order: Json
) -> list[Json] | None:
    """Whom a `PERSON` field offers: the project's customer service but the current owner.

    None when the user's role may not read the staff directory (customer service may
    not): the page then asks for the person's id.
    """
    if not any(field.kind is Kind.PERSON for field in form.fields):
        return []
    try:
        staff = await visit.console.dispatch.get(
            user.token, "/v1/staff", {"project": order["project"]}
        )
    except UpstreamError as exc:
        if exc.status != 403:
            raise
        return None
    return [
        member
        for member in staff.get("items", [])
        if member.get("role") == "customer_service" and member.get("id") != order.get("owner")
    ]


async def confirmation(
    visit: Visit,
    user: SignedIn,
    order_id: str,
    form: CommandForm,
    back: str,
    *,
    answers: Mapping[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The page that asks before doing: the order, the form's questions, Confirm or Back."""
    api = visit.console.dispatch
    order = await api.get(user.token, f"/v1/work-orders/{order_id}")
    projects = await boards.projects(api, user)
    return visit.render(
        "confirm.html",
        status=status,
        order=order,
        form=form,
        action_url=visit.request.url.path,
        back=back,
        answers=answers or {},
        people=await _people(visit, user, form, order),
        projects=projects,
        key=str(uuid.uuid4()),
        problem=problem,
    )


async def give(
    visit: Visit, user: SignedIn, order_id: str, form: CommandForm, back: str
) -> Response:
    """Give the confirmed command to dispatch, then back to `back` with what was done."""
    posted = await visit.form()
    body, missing = command_body(form, posted, await _zone(visit, user, order_id, form))
    if missing:
        words = ", ".join(visit.gettext(field.label) for field in missing)
        problem = visit.gettext("Fill in: %(fields)s", fields=words)
        return await confirmation(
            visit, user, order_id, form, back, answers=posted, problem=problem, status=422
        )
    key = posted.get("key", "")
    try:
        uuid.UUID(key)
    except ValueError as exc:
        raise PageRefused(visit.gettext("The form had expired; try again.")) from exc
    try:
        order: dict[str, Any] = await visit.console.dispatch.post(
            user.token,
            f"/v1/work-orders/{order_id}/{form.command}",
            body,
            {"Idempotency-Key": key},
        )
    except UpstreamError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        problem = await _refusal(visit, user, order_id, exc)
        return await confirmation(
            visit, user, order_id, form, back, answers=posted, problem=problem, status=409
        )
    visit.note(visit.gettext(form.done, order=order_label(order)))
    return visit.redirect(back)


async def _order_and_zone(visit: Visit, user: SignedIn, order_id: str) -> tuple[Json, str | None]:
    """The order, and its project's time zone (where its times are read and typed)."""
    api = visit.console.dispatch
    order, projects = await asyncio.gather(
        api.get(user.token, f"/v1/work-orders/{order_id}"), boards.projects(api, user)
    )
    zone = (projects.get(str(order.get("project"))) or {}).get("time_zone")
    return order, (str(zone) if zone else None)


async def _zone(visit: Visit, user: SignedIn, order_id: str, form: CommandForm) -> str | None:
    """The project's time zone when the form asks for a time (typed on its wall clock)."""
    if not any(field.kind is Kind.INSTANT for field in form.fields):
        return None
    return (await _order_and_zone(visit, user, order_id))[1]


async def _refusal(visit: Visit, user: SignedIn, order_id: str, exc: UpstreamError) -> str:
    """dispatch's refusal, in the user's words when its code is one the console knows."""
    known = REFUSALS.get(exc.code)
    if known is None:
        return visit.gettext("dispatch refused: %(detail)s", detail=exc.detail)
    order, zone = await _order_and_zone(visit, user, order_id)
    appointment = order.get("appointment_at")
    shown = visit.local_time(appointment, zone) if appointment else ""
    return visit.gettext(known, appointment=shown)
