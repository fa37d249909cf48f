"""A complaint settled on the phone, over HTTP: no visit needed, completed by customer service."""

from __future__ import annotations

from datetime import timedelta

from shared.auth import Role
from tests.integration.dispatch.api_support import Api
from tests.integration.dispatch.test_sla_api import arrival_clock, scheduler_of


async def test_customer_service_settles_a_complaint_without_a_visit(api: Api) -> None:
    order = await api.report(kind="complaint", category="noise")
    api.clock.advance(timedelta(minutes=2))

    recorded = await api.command(
        order["id"],
        "record-no-visit-needed",
        Role.CUSTOMER_SERVICE,
        {"reason": "explained by phone"},
    )
    completed = await api.command(
        order["id"], "complete", Role.CUSTOMER_SERVICE, {"summary": "settled by phone"}
    )

    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["no_visit_needed_by"] == "customer_service-1"
    assert completed.status_code == 200, completed.text
    api.clock.advance(timedelta(minutes=10))
    await scheduler_of(api).fire_due()
    arrival = await arrival_clock(api, order["id"])
    assert arrival["status"] == "met" and arrival["on_time"] is True


async def test_customer_service_may_not_complete_a_complaint_before_deciding_no_visit(
    api: Api,
) -> None:
    order = await api.report(kind="complaint", category="noise")

    refused = await api.command(
        order["id"], "complete", Role.CUSTOMER_SERVICE, {"summary": "settled by phone"}
    )

    assert refused.status_code == 403
    assert refused.json()["code"] == "role_not_allowed"
