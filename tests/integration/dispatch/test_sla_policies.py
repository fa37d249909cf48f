"""Versioned SLA policies per tenant, urgency changes and explicit recalculation, over HTTP."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.dispatch.adapters.sla_policies import SqlSlaPolicies
from services.dispatch.adapters.sla_scheduler import SlaScheduler
from services.dispatch.domain.sla import default_policy
from shared.auth import Role
from shared.events.sla import ClockName
from tests.integration.dispatch.api_support import NOW, TENANT, Api, auth, token

PROBLEM = "application/problem+json"


def policy_body(**arrival: Any) -> dict[str, Any]:
    """The default policy as a publish body (no version), with the arrival rule changed."""
    body = default_policy().model_dump(mode="json")
    del body["version"]
    for rule in body["clocks"]:
        if rule["name"] == ClockName.ARRIVAL.value:
            rule.update(arrival)
    return body


async def publish(api: Api, body: dict[str, Any], role: Role = Role.PROJECT_MANAGER) -> Any:
    response = await api.client.post("/v1/sla/policies", json=body, headers=auth(role))
    return response


async def arrival_events(api: Api, work_order_id: str, kind: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/v1/work-orders/{work_order_id}/events", headers=auth(Role.SUPERVISOR)
    )
    return [
        e["data"]
        for e in response.json()["items"]
        if e["type"] == f"workorder.{kind}.v1" and e["data"]["clock"] == "arrival"
    ]


async def assigned_order(api: Api) -> dict[str, Any]:
    """A reported repair assigned to technician-1, who may therefore see it."""
    order = await api.report()
    response = await api.command(
        order["id"], "assign", Role.DISPATCHER, {"assignee": "technician-1"}
    )
    assert response.status_code == 200, response.text
    return order


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


# -- the policy API -----------------------------------------------------------------------


async def test_the_first_published_version_is_2_and_becomes_current(api: Api) -> None:
    response = await publish(api, policy_body(target="PT10M"))

    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/v1/sla/policies/2"
    assert response.json()["version"] == 2
    current = await api.client.get("/v1/sla/policies/current", headers=auth(Role.DISPATCHER))
    assert current.json()["version"] == 2
    assert current.json()["clocks"] == response.json()["clocks"]


async def test_versions_are_listed_with_who_published_them_and_which_is_current(
    api: Api,
) -> None:
    await publish(api, policy_body(target="PT10M"))
    await publish(api, policy_body(target="PT5M"), Role.HQ_QUALITY)

    response = await api.client.get("/v1/sla/policies", headers=auth(Role.TECHNICIAN))

    body = response.json()
    assert body["current"] == 3
    assert [(v["version"], v["created_by"], v["current"]) for v in body["items"]] == [
        (1, None, False),
        (2, "project_manager-1", False),
        (3, "hq_quality-1", True),
    ]
    assert body["items"][0]["default"] is True
    assert instant(body["items"][1]["created_at"]) == NOW


async def test_an_old_version_stays_readable_as_it_was(api: Api) -> None:
    await publish(api, policy_body(target="PT10M"))
    await publish(api, policy_body(target="PT5M"))

    second = await api.client.get("/v1/sla/policies/2", headers=auth(Role.SUPERVISOR))
    default = await api.client.get("/v1/sla/policies/1", headers=auth(Role.SUPERVISOR))

    [arrival] = [r for r in second.json()["clocks"] if r["name"] == "arrival"]
    assert arrival["target"] == "PT10M"
    assert default.json() == {**default_policy().model_dump(mode="json"), "projects": None}


async def test_an_unknown_version_is_a_404_problem(api: Api) -> None:
    response = await api.client.get("/v1/sla/policies/9", headers=auth(Role.SUPERVISOR))

    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "sla_policy_not_found"


@pytest.mark.parametrize(
    "change",
    [
        {"version": 7},
        {"clocks": [{"name": "arrival", "target": "PT3M", "start_on": ["workorder.nope"]}]},
        {"clocks": [{"name": "arrival", "target": "PT3M", "calendar": "moon", "start_on": []}]},
        {"warning_thresholds": [0.8, 0.5]},
    ],
    ids=["version", "unknown-event", "unknown-calendar", "thresholds"],
)
async def test_an_invalid_policy_is_a_422_problem_and_stores_nothing(
    api: Api, change: dict[str, Any]
) -> None:
    response = await publish(api, {**policy_body(), **change})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    current = await api.client.get("/v1/sla/policies/current", headers=auth(Role.SUPERVISOR))
    assert current.json()["version"] == 1


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.DISPATCHER, Role.TECHNICIAN])
async def test_only_project_managers_and_headquarters_publish(api: Api, role: Role) -> None:
    response = await publish(api, policy_body(), role)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "role_not_allowed"


async def test_residents_do_not_read_policies(api: Api) -> None:
    response = await api.client.get("/v1/sla/policies/current", headers=auth(Role.RESIDENT))

    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_policies_are_per_tenant(api: Api) -> None:
    await publish(api, policy_body(target="PT10M"))
    other = {"Authorization": "Bearer " + token(Role.SUPERVISOR, tenant="globex")}

    response = await api.client.get("/v1/sla/policies/current", headers=other)

    assert response.json()["version"] == 1


async def test_concurrent_publishes_get_distinct_versions(api: Api) -> None:
    responses = await asyncio.gather(
        publish(api, policy_body(target="PT10M")), publish(api, policy_body(target="PT5M"))
    )

    assert sorted(r.json()["version"] for r in responses) == [2, 3]


async def test_another_process_sees_a_new_version_after_its_cache_expires(api: Api) -> None:
    seconds = [0.0]
    elsewhere = SqlSlaPolicies(
        api.dispatch.engine,
        clock=api.clock.now,
        projects=api.dispatch.projects,
        monotonic=lambda: seconds[0],
    )
    assert (await elsewhere.current(TENANT)).version == 1

    await publish(api, policy_body(target="PT10M"))
    seconds[0] = 29.0
    still_cached = (await elsewhere.current(TENANT)).version
    seconds[0] = 31.0

    assert (still_cached, (await elsewhere.current(TENANT)).version) == (1, 2)


async def current_version(api: Api, project: str | None = None) -> int:
    query = {"project": project} if project else {}
    response = await api.client.get(
        "/v1/sla/policies/current", params=query, headers=auth(Role.SUPERVISOR)
    )
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


async def publish_as(api: Api, role: Role, projects: list[str], body: dict[str, Any]) -> Any:
    return await api.client.post("/v1/sla/policies", json=body, headers=auth(role, projects))


async def test_a_project_manager_of_one_project_publishes_for_that_project_only(
    api: Api,
) -> None:
    published = await publish_as(api, Role.PROJECT_MANAGER, ["sunny"], policy_body(target="PT10M"))
    sunny = await api.report()
    river = await api.report(project="river")

    assert published.status_code == 201, published.text
    assert published.json()["projects"] == ["sunny"]
    assert await current_version(api) == 1
    assert (await current_version(api, "sunny"), await current_version(api, "river")) == (2, 1)
    [sunny_arrival] = await arrival_events(api, sunny["id"], "sla_clock_started")
    [river_arrival] = await arrival_events(api, river["id"], "sla_clock_started")
    assert (sunny_arrival["policy_version"], river_arrival["policy_version"]) == (2, 1)


async def test_a_project_manager_may_not_publish_for_a_project_they_do_not_manage(
    api: Api,
) -> None:
    asked = {**policy_body(target="PT10M"), "projects": ["river"]}

    response = await publish_as(api, Role.PROJECT_MANAGER, ["sunny"], asked)

    assert response.status_code == 404, response.text
    assert response.json()["code"] == "unknown_project"
    assert await current_version(api, "river") == 1


async def test_a_tenant_wide_role_publishes_for_every_project_and_the_newest_cover_wins(
    api: Api,
) -> None:
    everywhere = await publish_as(api, Role.HQ_QUALITY, ["*"], policy_body(target="PT10M"))
    sunny_only = await publish_as(api, Role.PROJECT_MANAGER, ["sunny"], policy_body(target="PT5M"))
    before = (await current_version(api, "sunny"), await current_version(api, "river"))
    again = await publish_as(api, Role.HQ_QUALITY, ["*"], policy_body(target="PT7M"))

    assert everywhere.json()["projects"] is None and sunny_only.json()["projects"] == ["sunny"]
    assert before == (3, 2)
    assert again.json()["version"] == 4
    assert (await current_version(api, "sunny"), await current_version(api, "river")) == (4, 4)


async def test_another_projects_policy_version_is_hidden_like_a_missing_one(api: Api) -> None:
    await publish_as(api, Role.PROJECT_MANAGER, ["sunny"], policy_body(target="PT10M"))
    river = auth(Role.PROJECT_MANAGER, ["river"])

    hidden = await api.client.get("/v1/sla/policies/2", headers=river)
    missing = await api.client.get("/v1/sla/policies/3", headers=river)
    listed = await api.client.get("/v1/sla/policies", headers=river)
    foreign = await api.client.get("/v1/sla/policies/current?project=sunny", headers=river)

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "sla_policy_not_found"
    assert [v["version"] for v in listed.json()["items"]] == [1]
    assert foreign.status_code == 404 and foreign.json()["code"] == "unknown_project"


# -- clocks and versions ------------------------------------------------------------------


async def test_new_clocks_run_under_the_current_version(api: Api) -> None:
    before = await api.report()
    await publish(api, policy_body(target="PT10M"))
    after = await api.report()

    [old] = await arrival_events(api, before["id"], "sla_clock_started")
    [new] = await arrival_events(api, after["id"], "sla_clock_started")

    assert (old["policy_version"], old["target_seconds"]) == (1, 180)
    assert (new["policy_version"], new["target_seconds"]) == (2, 600)
    # A running clock is not moved by the publish itself.
    assert await arrival_events(api, before["id"], "sla_clock_recalculated") == []


async def test_the_scheduler_fires_a_running_clock_on_the_version_it_started_under(
    api: Api,
) -> None:
    before = await api.report()
    body = policy_body(target="PT10M")
    body["warning_thresholds"] = [0.25]
    await publish(api, body)
    api.clock.advance(timedelta(minutes=4))

    scheduler = SlaScheduler(
        api.dispatch.engine, api.dispatch.store, api.dispatch.sla_policies, api.clock
    )
    await scheduler.fire_due()

    warnings = await arrival_events(api, before["id"], "sla_warning_raised")
    [breach] = await arrival_events(api, before["id"], "sla_clock_breached")
    assert [(w["threshold"], w["policy_version"]) for w in warnings] == [(0.5, 1), (0.8, 1)]
    assert instant(breach["due_at"]) == NOW + timedelta(minutes=3)


# -- urgency ------------------------------------------------------------------------------


async def test_the_default_policy_has_no_urgent_arrival_so_urgency_moves_no_clock(
    api: Api,
) -> None:
    assert all(rule.urgent_target is None for rule in default_policy().clocks)
    order = await api.report()
    api.clock.advance(timedelta(minutes=1))

    response = await api.command(
        order["id"], "change-urgency", Role.CUSTOMER_SERVICE, {"urgency": "urgent", "reason": "x"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["urgency"] == "urgent"
    assert await arrival_events(api, order["id"], "sla_clock_recalculated") == []


async def test_an_urgency_change_recalculates_the_arrival_keeping_the_elapsed_minute(
    api: Api,
) -> None:
    await publish(api, policy_body(urgent_target="PT2M"))
    order = await api.report()
    api.clock.advance(timedelta(minutes=1))

    response = await api.command(
        order["id"],
        "change-urgency",
        Role.DISPATCHER,
        {"urgency": "urgent", "reason": "water reaches the flat below"},
    )

    assert response.status_code == 200, response.text
    [moved] = await arrival_events(api, order["id"], "sla_clock_recalculated")
    assert moved["reason"] == "urgency_changed"
    assert instant(moved["previous_due_at"]) == NOW + timedelta(minutes=3)
    assert instant(moved["due_at"]) == NOW + timedelta(minutes=2)
    assert (moved["elapsed_seconds"], moved["remaining_seconds"]) == (60, 60)


async def test_a_technician_may_not_change_urgency(api: Api) -> None:
    order = await assigned_order(api)

    response = await api.command(
        order["id"], "change-urgency", Role.TECHNICIAN, {"urgency": "urgent", "reason": "x"}
    )

    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)


# -- recalculate-sla ----------------------------------------------------------------------


async def test_recalculation_moves_a_running_clock_to_the_new_version_keeping_elapsed_time(
    api: Api,
) -> None:
    order = await api.report()
    api.clock.advance(timedelta(minutes=1))
    await publish(api, policy_body(target="PT10M"))

    response = await api.command(
        order["id"], "recalculate-sla", Role.SUPERVISOR, {"reason": "new contract"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["policy_version"] == 2
    [moved] = await arrival_events(api, order["id"], "sla_clock_recalculated")
    assert (moved["reason"], moved["policy_version"]) == ("policy_changed", 2)
    assert instant(moved["previous_due_at"]) == NOW + timedelta(minutes=3)
    assert instant(moved["due_at"]) == NOW + timedelta(minutes=10)
    assert (moved["elapsed_seconds"], moved["remaining_seconds"]) == (60, 540)


async def test_recalculating_again_changes_nothing(api: Api) -> None:
    order = await api.report()
    await publish(api, policy_body(target="PT10M"))
    await api.command(order["id"], "recalculate-sla", Role.PROJECT_MANAGER)
    count = await api.event_count()

    response = await api.command(order["id"], "recalculate-sla", Role.PROJECT_MANAGER)

    assert response.status_code == 200
    assert response.json()["events"] == []
    assert await api.event_count() == count


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.CUSTOMER_SERVICE, Role.DISPATCHER])
async def test_only_supervisors_and_project_managers_recalculate(api: Api, role: Role) -> None:
    order = await assigned_order(api)  # so that the technician may see it
    count = await api.event_count()

    response = await api.command(order["id"], "recalculate-sla", role)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "role_not_allowed"
    assert await api.event_count() == count


async def test_recalculating_an_unknown_work_order_is_a_404_problem(api: Api) -> None:
    response = await api.command(
        "7d9b5c1e-0000-4000-8000-000000000000", "recalculate-sla", Role.SUPERVISOR
    )

    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_a_tenants_own_closures_and_make_up_days_are_kept_in_its_calendars(
    api: Api,
) -> None:
    body = policy_body()
    body["calendars"]["working_days"]["closures"] = ["2026-03-06"]
    body["calendars"]["working_days"]["extra_working_days"] = ["2026-03-08"]

    stored = (await publish(api, body)).json()

    calendar = stored["calendars"]["working_days"]
    assert (calendar["closures"], calendar["extra_working_days"]) == (
        ["2026-03-06"],
        ["2026-03-08"],
    )
