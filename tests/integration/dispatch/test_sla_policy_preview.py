"""Previewing a draft SLA policy: how it would move the running clocks, recording nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.auth import Role
from tests.integration.dispatch.api_support import NOW, Api, auth
from tests.integration.dispatch.test_sla_policies import (
    arrival_events,
    instant,
    policy_body,
    publish,
)

PREVIEW = "/v1/sla/policies/preview"


async def preview(
    api: Api,
    body: dict[str, Any],
    role: Role = Role.PROJECT_MANAGER,
    projects: list[str] | None = None,
) -> Any:
    return await api.client.post(PREVIEW, json=body, headers=auth(role, projects))


def arrival_of(answer: dict[str, Any], work_order_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        item
        for item in answer["items"]
        if item["work_order_id"] == work_order_id and item["clock"] == "arrival"
    ]
    assert len(found) == 1
    return found[0]


async def test_the_preview_shows_the_due_time_the_recalculation_then_records(api: Api) -> None:
    order = await api.report()
    api.clock.advance(timedelta(minutes=1))
    count = await api.event_count()

    response = await preview(api, policy_body(target="PT10M"))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["policy_version"], answer["projects"], answer["truncated"]) == (2, None, False)
    arrival = arrival_of(answer, order["id"])
    assert (arrival["status"], arrival["change"]) == ("running", "moved")
    assert instant(arrival["due_at"]) == NOW + timedelta(minutes=3)
    assert instant(arrival["draft_due_at"]) == NOW + timedelta(minutes=10)
    # Read-only: nothing recorded, nothing published.
    assert await api.event_count() == count
    versions = await api.client.get("/v1/sla/policies", headers=auth(Role.HQ_QUALITY))
    assert versions.json()["current"] == 1

    await publish(api, policy_body(target="PT10M"))
    await api.command(order["id"], "recalculate-sla", Role.PROJECT_MANAGER)
    [moved] = await arrival_events(api, order["id"], "sla_clock_recalculated")
    assert instant(moved["due_at"]) == instant(arrival["draft_due_at"])


async def test_a_draft_like_the_current_policy_moves_nothing(api: Api) -> None:
    order = await api.report()

    response = await preview(api, policy_body())

    arrival = arrival_of(response.json(), order["id"])
    assert arrival["change"] == "unchanged"
    assert arrival["draft_due_at"] == arrival["due_at"]


async def test_a_project_managers_preview_covers_their_projects_only(api: Api) -> None:
    sunny = await api.report()
    river = await api.report(project="river")

    response = await preview(api, policy_body(target="PT10M"), projects=["sunny"])

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["projects"] == ["sunny"]
    orders = {item["work_order_id"] for item in answer["items"]}
    assert sunny["id"] in orders and river["id"] not in orders
    foreign = {**policy_body(target="PT10M"), "projects": ["river"]}
    refused = await preview(api, foreign, projects=["sunny"])
    assert (refused.status_code, refused.json()["code"]) == (404, "unknown_project")


@pytest.mark.parametrize(
    "role", [Role.TECHNICIAN, Role.DISPATCHER, Role.CUSTOMER_SERVICE, Role.SUPERVISOR]
)
async def test_only_those_who_publish_may_preview(api: Api, role: Role) -> None:
    response = await preview(api, policy_body(target="PT10M"), role)

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


async def test_a_bad_draft_is_a_422_problem(api: Api) -> None:
    body = {**policy_body(), "warning_thresholds": [0.8, 0.5]}

    response = await preview(api, body)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
