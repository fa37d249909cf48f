"""`/v1/residents/{resident}/contact`: how to reach a resident now, for notify at send time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field

from services.dispatch.entrypoints.deps import DispatchDep, purpose_of
from services.dispatch.entrypoints.routes.disclosure import UNLOGGED
from services.dispatch.service_layer.access_log import Disclosure
from services.dispatch.service_layer.resident_contacts import resident_contact
from shared.http.auth import ServicePrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import Body, Responses, answers, json_response

router = APIRouter(tags=["privacy"])

REFERENCE_PATTERN = r"^rsd_[a-z2-7]{24}$"


class ResidentContactBody(Body):
    """A resident's contact in clear, from their latest order."""

    resident: str = Field(description="Their pseudonymous reference.")
    name: str
    phone: str | None
    unit: str | None
    detail: str | None
    erased: bool = Field(description="Always false: an erased resident is answered 410.")


GONE: Responses = {
    410: {
        **PROBLEM_RESPONSES[404],
        "description": "`resident_erased`: the resident's personal data was erased; "
        "never send them anything again.",
    }
}


@router.get(
    "/v1/residents/{resident}/contact",
    response_class=Response,
    responses={
        **answers(ResidentContactBody, "The resident's name, phone and unit in clear."),
        **PROBLEM_RESPONSES,
        **GONE,
        **UNLOGGED,
    },
    summary="Read a resident's contact (notify at send time; logged)",
)
async def contact(
    request: Request,
    principal: ServicePrincipalDep,
    dispatch: DispatchDep,
    resident: Annotated[
        str, Path(pattern=REFERENCE_PATTERN, description="The resident's reference, `rsd_...`.")
    ],
    work_order: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="An order the resident reported (the one the message is about).",
        ),
    ],
) -> Response:
    """The name, phone, unit and detail the resident gave on their latest order, for
    notify's service identity (role `notifier`, purpose `notification`) and for customer
    service and supervisors of a project the resident has orders in. Every answer is
    written to the access log first (503 `access_log_unavailable` when it cannot be).

    404 `unknown_resident` when `work_order` is not an order of that resident in the
    caller's tenant (or projects); 410 `resident_erased` when the resident was erased;
    403 `role_not_allowed` for any other role.
    """
    disclosure = Disclosure(principal, purpose_of(request), dispatch.clock.now())
    body = await resident_contact(
        dispatch.resident_data, dispatch.access_log, disclosure, resident, work_order
    )
    return json_response(body)
