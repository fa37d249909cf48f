"""`GET /v1/follow-ups/owed`: customer service sees the visits still owed in the month."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.auth import Role
from tests.integration.dispatch.api_support import Api, auth, completed_repair


async def _owed(api: Api, **params: str) -> dict[str, Any]:
    response = await api.client.get(
        "/v1/follow-ups/owed",
        params={"project": "sunny", **params},
        headers=auth(Role.CUSTOMER_SERVICE),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_customer_service_sees_the_visits_owed_and_clearing_them_meets_the_share(
    api: Api,
) -> None:
    repairs = [await completed_repair(api) for _ in range(10)]
    reopened = repairs[0]
    await api.command(reopened, "reopen", Role.CUSTOMER_SERVICE, {"reason": "又漏了"})

    plan = await _owed(api)
    assert (plan["month"], plan["from"], plan["to"]) == ("2026-03", "2026-03-01", "2026-04-01")
    assert (plan["completed_repairs"], plan["target_share"], plan["required_visits"]) == (
        10,
        0.3,
        3,
    )
    owed = [item["work_order_id"] for item in plan["owed"]]
    assert len(owed) >= 3 and set(owed) <= set(repairs[1:])
    assert {item["because"] for item in plan["owed"]} <= {"sampled", "top_up"}

    for wid in owed:
        response = await api.command(wid, "record-follow-up", Role.CUSTOMER_SERVICE, {"rating": 5})
        assert response.status_code == 200, response.text
    after = await _owed(api)
    assert after["owed"] == [] and after["shortfall"] == 0
    assert after["visited"] / after["completed_repairs"] >= 0.3


async def test_a_month_without_completed_repairs_owes_nothing(api: Api) -> None:
    await completed_repair(api)
    api.clock.advance(timedelta(days=40))
    plan = await _owed(api)
    assert (plan["month"], plan["completed_repairs"], plan["owed"]) == ("2026-04", 0, [])
    march = await _owed(api, month="2026-03")
    assert march["completed_repairs"] == 1 and len(march["owed"]) == 1


@pytest.mark.parametrize(
    ("params", "role", "projects", "status", "code"),
    [
        ({"project": "sunny"}, Role.TECHNICIAN, None, 403, "role_not_allowed"),
        ({"project": "sunny"}, Role.RESIDENT, None, 403, "role_not_allowed"),
        ({"project": "sunny"}, Role.CUSTOMER_SERVICE, ["river"], 404, "unknown_project"),
        ({"project": "nowhere"}, Role.CUSTOMER_SERVICE, None, 404, "unknown_project"),
        ({"project": "sunny", "month": "2026-13"}, Role.CUSTOMER_SERVICE, None, 422, "validation_failed"),
        ({}, Role.CUSTOMER_SERVICE, None, 422, "validation_failed"),
    ],
)  # fmt: skip
async def test_bad_requests_get_problem_details(
    api: Api,
    params: dict[str, str],
    role: Role,
    projects: list[str] | None,
    status: int,
    code: str,
) -> None:
    response = await api.client.get(
        "/v1/follow-ups/owed", params=params, headers=auth(role, projects)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
