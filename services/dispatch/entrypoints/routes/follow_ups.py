"""`/v1/follow-ups/owed`: the follow-up visits (回访) customer service still owes this month."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from services.dispatch.entrypoints.deps import DispatchDep
from services.dispatch.entrypoints.routes.schemas import FollowUpsOwed
from services.dispatch.service_layer.follow_ups import follow_ups_owed
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import answers, json_response

router = APIRouter(tags=["work orders"])

OWED_EXAMPLE: dict[str, Any] = {
    "project": "sunny-garden",
    "month": "2026-09",
    "from": "2026-09-01",
    "to": "2026-10-01",
    "time_zone": "Asia/Shanghai",
    "completed_repairs": 10,
    "target_share": 0.3,
    "required_visits": 3,
    "visited": 1,
    "shortfall": 0,
    "owed": [
        {
            "work_order_id": "0b9c3f4e-5a0c-4d43-9a53-1f0c2b1d7e21",
            "first_completed_at": "2026-09-03T06:00:00+00:00",
            "because": "sampled",
        },
        {
            "work_order_id": "5d1e8a2c-7b3f-4e19-8c6d-2a9f0e4b1c37",
            "first_completed_at": "2026-09-04T02:30:00+00:00",
            "because": "top_up",
        },
    ],
    "as_of": "2026-09-20T02:00:00+00:00",
}


@router.get(
    "/v1/follow-ups/owed",
    response_class=Response,
    responses={
        **answers(
            FollowUpsOwed,
            "The month's repairs, the visits the target share needs, those made, and the "
            "visits still owed (earliest completed first).",
            example=OWED_EXAMPLE,
        ),
        **PROBLEM_RESPONSES,
    },
    summary="List the follow-up visits still owed in a month",
)
async def owed(
    principal: PrincipalDep,
    dispatch: DispatchDep,
    project: Annotated[str, Query(pattern=r"^[a-z0-9_-]{1,64}$")],
    month: Annotated[
        str | None,
        Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default this month"),
    ] = None,
) -> Response:
    """The follow-up visits customer service owes in a project's month (its time zone).

    A repair belongs to the month of its first completion. Owed: the repairs the SLA
    policy's follow-up clock picked that nobody has visited yet, and, whenever visits
    made plus owed would stay under the policy's share of the month's completed repairs
    (维修服务回访率 ≥ 30 %), further unvisited repairs, earliest completed first
    (`because`: `sampled` or `top_up`). Once the list is cleared the month meets the
    share; `shortfall` counts visits no repair can give any more (reopened, closed,
    cancelled). Customer service, supervisors, project managers and headquarters.
    """
    body = await follow_ups_owed(
        dispatch.engine, dispatch.sla_policies, principal, project, month, dispatch.clock.now()
    )
    return json_response(body)
