"""`/v1/residents`: customer service finds a caller by the phone they reported from before."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from services.dispatch.entrypoints.deps import DispatchDep
from services.dispatch.entrypoints.routes.disclosure import UNLOGGED, DisclosureDep
from services.dispatch.service_layer.access_log import disclose_residents
from services.dispatch.service_layer.residents import find_residents
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import Body, answers, json_response
from shared.inputs import Line

router = APIRouter(tags=["work orders"])


class ResidentHome(Body):
    """A building and unit the resident reported from."""

    project: str
    building: str | None = Field(description="The building's id in the project register.")
    building_name: str | None = Field(description="Its registered name; null if unregistered.")
    unit: str | None


class ResidentOrder(Body):
    """One of the resident's latest work orders."""

    id: str
    project: str
    number: str | None = Field(description="As read to the resident (SG-20261201-0042).")
    status: str
    kind: str
    category: str
    reported_at: datetime


class FoundResident(Body):
    """A person who reported from the phone searched."""

    resident: str | None = Field(
        description="Their pseudonymous reference (`rsd_...`), as events and the access log "
        "name them; null for orders indexed before references (until the index is rebuilt)."
    )
    resident_id: str | None = Field(
        description="The resident's login when they reported in the app; null for calls."
    )
    name: str = Field(
        description="The name they gave on their latest report (`erased` once the resident "
        "was erased)."
    )
    homes: list[ResidentHome] = Field(description="Where they reported from, newest first.")
    recent_orders: list[ResidentOrder] = Field(description="Their latest orders, newest first.")


class ResidentMatches(Body):
    """The residents who reported from a phone number, most recently heard from first."""

    items: list[FoundResident]


EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "resident": "rsd_k5qhtvbeoay2wz3jxn4mdl7c",
            "resident_id": None,
            "name": "张三",
            "homes": [
                {
                    "project": "sunny-garden",
                    "building": "b1",
                    "building_name": "1号楼",
                    "unit": "1-101",
                }
            ],
            "recent_orders": [
                {
                    "id": "0b9c3f4e-5a0c-4d43-9a53-1f0c2b1d7e21",
                    "project": "sunny-garden",
                    "number": "SG-20260302-0007",
                    "status": "completed",
                    "kind": "repair",
                    "category": "plumbing",
                    "reported_at": "2026-03-02T02:00:00+00:00",
                }
            ],
        }
    ]
}


@router.get(
    "/v1/residents",
    response_class=Response,
    responses={
        **answers(
            ResidentMatches,
            "The residents who reported from the number (none: an empty list).",
            example=EXAMPLE,
        ),
        **PROBLEM_RESPONSES,
        **UNLOGGED,
    },
    summary="Find residents by the phone they reported from",
)
async def search(
    disclosure: DisclosureDep,
    dispatch: DispatchDep,
    phone: Annotated[
        Line,
        Query(
            min_length=1,
            max_length=32,
            description="The caller's number in any common form: 13800000000, "
            "138 0000 0000, +86 138-0000-0000, 010-12345678.",
        ),
    ],
    project: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
) -> Response:
    """The residents who reported work orders from `phone` in the caller's projects (or
    `project`): the name they gave, the buildings and units they reported from, and their
    five latest orders with their status now. Reports by a resident's app login are that
    resident's; calls are grouped by the name given.

    Customer service and supervisors only (`role_not_allowed` for anyone else); a
    number that is not one is `invalid_phone` (422). The number is looked up through a
    keyed blind index (HMAC-SHA256 of its canonical form), never stored in clear for it.
    Each resident found is written to the access log of personal data.
    """
    body = await find_residents(
        dispatch.residents,
        dispatch.projects,
        dispatch.privacy.fields,
        disclosure.principal,
        phone,
        project,
    )
    return json_response(await disclose_residents(dispatch.access_log, disclosure, body))
