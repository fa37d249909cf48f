"""`/v1/residents/{resident}`: a resident's rights over their data (PIPL Art. 45-47):
erasure, correction and export, by their pseudonymous reference (`rsd_...`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.dispatch.entrypoints.deps import ScopeDep
from services.dispatch.entrypoints.routes.disclosure import UNLOGGED, DisclosureDep
from services.dispatch.service_layer.resident_contacts import correct_contact
from services.dispatch.service_layer.resident_erasure import erase_resident
from services.dispatch.service_layer.resident_export import export_personal_data
from shared.events.resident import ErasureReason
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import Body, Responses, answers, json_response

router = APIRouter(prefix="/v1/residents", tags=["privacy"])

ResidentRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The resident's pseudonymous reference (`rsd_` and 24 characters), as "
        "events carry it in `reporter.resident`.",
    ),
]

GONE: Responses = {
    410: {
        **PROBLEM_RESPONSES[404],
        "description": "`resident_erased`: the resident's data was erased.",
    }
}

NOTIFY_DOWN: Responses = {
    503: {
        **PROBLEM_RESPONSES[503],
        "description": "`notify_unavailable`: the messages sent to the resident cannot be "
        "read from notify now, so no (partial) export is answered; "
        "`access_log_unavailable`: the export cannot be logged. Retry after `Retry-After`.",
    }
}


class EraseRequest(BaseModel):
    """Why a resident's data is erased."""

    model_config = ConfigDict(extra="forbid")

    reason: ErasureReason = ErasureReason.REQUEST
    case: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/#-]{1,64}$")] | None = Field(
        default=None,
        description="Your reference of the request (a ticket id); public on the event, so "
        "letters, digits and `_.:/#-` only.",
    )


class Erasure(Body):
    """A resident's erasure: the facts of its `resident.erased` event."""

    resident: str
    work_orders: list[str] = Field(description="The ids of the orders it covers.")
    projects: list[str] = Field(description="Their projects.")
    erased_by: str = Field(description="Who erased: a subject, or `retention`.")
    reason: ErasureReason
    keys_destroyed: int = Field(description="Data-key generations destroyed by it.")
    case: str | None
    erased: bool = Field(description="Always true.")
    erased_at: datetime
    version: int = Field(description="The resident's stream version after the erasure.")


class ContactCorrection(BaseModel):
    """The corrected name and/or phone of a resident (at least one)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    phone: Annotated[str, Field(min_length=1, max_length=32)] | None = None


class Correction(Body):
    """A correction as recorded: masks only (the clear values are sealed in its event)."""

    resident: str
    fields: list[str] = Field(description="`reporter.name`, `reporter.phone`.")
    name: str | None = Field(description="The corrected name, masked.")
    phone: str | None = Field(description="The corrected phone, masked.")
    corrected_by: str
    corrected_at: datetime
    version: int


class Contact(Body):
    """How to reach the resident now (the latest correction over their report)."""

    resident: str
    work_order: str | None = Field(description="The order whose report the values are from.")
    name: str | None
    phone: str | None
    unit: str | None
    detail: str | None
    erased: bool = Field(description="True: erased; every value is null.")


class FollowUp(Body):
    """A follow-up visit's rating (1-5) and comment."""

    rating: int | None
    comment: str | None
    at: datetime


class Feedback(Body):
    """What the resident was told of how their request was handled."""

    message: str | None
    at: datetime


class ExportedOrder(Body):
    """One of the resident's work orders, with what was recorded of them on it."""

    id: str
    number: str | None
    project: str
    kind: str | None
    category: str | None
    status: str | None
    reported_at: datetime
    channel: str | None
    reporter: dict[str, Any] = Field(description="As reported, in clear (`erased` once erased).")
    location: dict[str, Any] = Field(description="As reported, in clear (`erased` once erased).")
    description: str | None
    feedback: list[Feedback]
    follow_ups: list[FollowUp]


class ExportedCorrection(Body):
    """A correction of the resident's data, its values in clear (`erased` once erased)."""

    fields: list[str]
    name: str | None = None
    phone: str | None = None
    corrected_by: str
    corrected_at: datetime


class ExportedErasure(Body):
    """An erasure of the resident's data."""

    resident: str
    work_orders: list[str]
    projects: list[str]
    erased_by: str
    reason: ErasureReason
    keys_destroyed: int
    case: str | None = None
    erased_at: datetime


class PersonalDataExport(Body):
    """Everything held about a resident (a portability request's answer)."""

    resident: str
    contact: Contact
    erasures: list[ExportedErasure]
    orders: list[ExportedOrder]
    corrections: list[ExportedCorrection]
    messages: list[dict[str, Any]] = Field(
        description="The messages sent to them, as notify's "
        "`GET /v1/residents/{resident}/deliveries` lists them."
    )


@router.post(
    "/{resident}/erase",
    response_class=Response,
    responses={
        **answers(Erasure, "Erased (or erased before: the first erasure again)."),
        **PROBLEM_RESPONSES,
    },
    summary="Erase a resident's personal data",
)
async def erase(resident: ResidentRef, request: EraseRequest, scope: ScopeDep) -> Response:
    """Destroy the resident's data keys (every field sealed for them becomes unreadable, on
    every copy), take them out of the residents' index and record `resident.erased` (no
    personal data). Their orders and histories stay; their fields read `erased`.
    Idempotent: erasing again answers the first erasure and records nothing.

    Privacy officers only (`role_not_allowed`); a reference unknown in the tenant is
    `unknown_resident` (404)."""
    dispatch = scope.dispatch
    body = await erase_resident(
        dispatch.resident_data, scope.context, resident, request.reason, request.case
    )
    return json_response(body)


@router.put(
    "/{resident}/contact",
    response_class=Response,
    responses={
        **answers(Correction, "The correction as recorded (masks)."),
        **PROBLEM_RESPONSES,
        **GONE,
    },
    summary="Correct a resident's name or phone",
)
async def correct(
    resident: ResidentRef, correction: ContactCorrection, scope: ScopeDep
) -> Response:
    """Record the resident's corrected name and/or phone (`resident.corrected`, who
    corrected it): contact lookups and later messages use it; reports stay as reported.

    Customer service and supervisors of a project the resident reported in, privacy
    officers (`role_not_allowed` for others); `resident_erased` (410) after an erasure;
    `invalid_phone`, `nothing_to_correct` (422)."""
    dispatch = scope.dispatch
    body = await correct_contact(
        dispatch.resident_data, scope.context, resident, correction.name, correction.phone
    )
    return json_response(body)


@router.get(
    "/{resident}/personal-data",
    response_class=Response,
    responses={
        **answers(PersonalDataExport, "Everything held about the resident."),
        **PROBLEM_RESPONSES,
        **NOTIFY_DOWN,
        **UNLOGGED,
    },
    summary="Export a resident's personal data",
)
async def personal_data(
    resident: ResidentRef, disclosure: DisclosureDep, request: Request
) -> Response:
    """The resident's contact, their orders (location, description, feedback, follow-ups),
    the corrections and erasures of their data and the messages notify sent them, as
    JSON, for an access or portability request. Each order shown in clear is written to
    the access log first. Privacy officers only (`role_not_allowed`)."""
    dispatch = request.app.state.dispatch
    token = request.headers.get("authorization", "").partition(" ")[2]
    body = await export_personal_data(
        dispatch.resident_data,
        dispatch.access_log,
        dispatch.resident_messages,
        disclosure,
        resident,
        token,
    )
    return json_response(body)
