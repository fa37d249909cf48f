"""The SLA read side: a work order's clocks, and the breaches coming next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.dispatch.adapters.sla_scheduler import SlaScheduler
from shared.auth import Role
from tests.integration.dispatch.api_support import NOW, Api, auth


def scheduler_of(api: Api) -> SlaScheduler:
    dispatch = api.dispatch
    return SlaScheduler(dispatch.engine, dispatch.store, dispatch.sla_policies, api.clock)


async def sla_of(api: Api, work_order_id: str, headers: dict[str, str]) -> Any:
    return await api.client.get(f"/v1/work-orders/{work_order_id}/sla", headers=headers)


async def arrival_clock(api: Api, work_order_id: str) -> dict[str, Any]:
    response = await sla_of(api, work_order_id, auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    clocks = {c["clock"]: c for c in response.json()["clocks"]}
    clock: dict[str, Any] = clocks["arrival"]
    return clock


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_reported_order_shows_its_arrival_clock_running_with_three_minutes_left(
    api: Api,
) -> None:
    order = await api.report()

    arrival = await arrival_clock(api, order["id"])

    assert arrival["status"] == "running"
    assert arrival["cycle"] == 1
    assert arrival["calendar"] == "24x7"
    assert instant(arrival["started_at"]) == NOW
    assert instant(arrival["due_at"]) == NOW + timedelta(minutes=3)
    assert arrival["target_seconds"] == 180
    assert arrival["elapsed_seconds"] == 0
    assert arrival["remaining_seconds"] == 180
    keys = [timer["key"] for timer in arrival["pending_timers"]]
    assert keys == [
        "arrival:1:warning:0.5",
        "arrival:1:escalation:at_0.5:1",
        "arrival:1:warning:0.8",
        "arrival:1:breach",
    ]


async def test_the_remaining_time_counts_down_with_the_dispatch_clock(api: Api) -> None:
    order = await api.report()
    api.clock.advance(timedelta(seconds=70))

    arrival = await arrival_clock(api, order["id"])

    assert arrival["elapsed_seconds"] == 70
    assert arrival["remaining_seconds"] == 110


async def test_a_fired_breach_shows_the_arrival_clock_breached(api: Api) -> None:
    order = await api.report()
    api.clock.advance(timedelta(minutes=4))
    await scheduler_of(api).fire_due()
    await scheduler_of(api).fire_due()  # the step at the breach exists once it is recorded

    arrival = await arrival_clock(api, order["id"])

    assert arrival["status"] == "breached"
    assert instant(arrival["breached_at"]) == NOW + timedelta(minutes=3)
    assert arrival["warnings"] == [0.5, 0.8]
    assert arrival["remaining_seconds"] == -60
    assert {"trigger": "breach", "level": 2} in arrival["escalations"]


async def test_a_clock_met_after_its_breach_is_met_but_not_on_time(api: Api) -> None:
    order = await api.report()
    await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    api.clock.advance(timedelta(minutes=4))
    await scheduler_of(api).fire_due()
    await api.command(order["id"], "arrive", Role.TECHNICIAN, subject="tech-wang")

    arrival = await arrival_clock(api, order["id"])

    assert arrival["status"] == "met"
    assert arrival["on_time"] is False
    assert arrival["pending_timers"] == []


@pytest.mark.parametrize(
    "headers",
    [auth(Role.RESIDENT, subject="resident-9"), auth(Role.SUPERVISOR, projects=["river"])],
    ids=["another-resident", "foreign-project"],
)
async def test_the_sla_view_is_hidden_from_those_who_may_not_read_the_order(
    api: Api, headers: dict[str, str]
) -> None:
    order = await api.report()

    response = await sla_of(api, order["id"], headers)

    assert response.status_code == 404
    assert response.json()["code"] == "work_order_not_found"


async def test_at_risk_lists_the_earliest_breaches_across_work_orders(api: Api) -> None:
    first = await api.report()
    api.clock.advance(timedelta(seconds=30))
    second = await api.report(project="river")
    api.clock.advance(timedelta(seconds=30))
    third = await api.report()

    response = await api.client.get("/v1/sla/at-risk", headers=auth(Role.SUPERVISOR))

    assert response.status_code == 200, response.text
    body = response.json()
    arrivals = [item for item in body["items"] if item["clock"] == "arrival"]
    assert [item["work_order_id"] for item in arrivals] == [first["id"], second["id"], third["id"]]
    assert [item["seconds_until_due"] for item in arrivals] == [120, 150, 180]
    assert body["due_within_hour"] == {"river": 1, "sunny": 2}


async def test_at_risk_shows_overdue_breaches_not_yet_recorded(api: Api) -> None:
    order = await api.report()
    api.clock.advance(timedelta(minutes=5))

    response = await api.client.get("/v1/sla/at-risk", headers=auth(Role.SUPERVISOR))

    items = [i for i in response.json()["items"] if i["work_order_id"] == order["id"]]
    assert items[0]["seconds_until_due"] == -120


async def test_at_risk_is_scoped_to_the_callers_projects(api: Api) -> None:
    await api.report()
    river = await api.report(project="river")
    scoped = auth(Role.PROJECT_MANAGER, projects=["river"])

    mine = await api.client.get("/v1/sla/at-risk", headers=scoped)
    filtered = await api.client.get("/v1/sla/at-risk?project=river&limit=1", headers=scoped)
    foreign = await api.client.get("/v1/sla/at-risk?project=sunny", headers=scoped)

    assert {i["work_order_id"] for i in mine.json()["items"]} == {river["id"]}
    assert mine.json()["due_within_hour"] == {"river": 1}
    assert len(filtered.json()["items"]) == 1
    # A project the caller may not see answers like one without risks.
    assert foreign.status_code == 200
    assert foreign.json()["items"] == []


async def test_a_technician_sees_at_risk_only_the_orders_assigned_to_them(api: Api) -> None:
    theirs = await api.report()
    await api.report()
    await api.report(project="river")
    assigned = await api.command(theirs["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})

    wang = await api.client.get(
        "/v1/sla/at-risk", headers=auth(Role.TECHNICIAN, subject="tech-wang")
    )
    idle = await api.client.get("/v1/sla/at-risk", headers=auth(Role.TECHNICIAN, subject="tech-li"))
    dispatcher = await api.client.get("/v1/sla/at-risk", headers=auth(Role.DISPATCHER))

    assert assigned.status_code == 200, assigned.text
    assert {i["work_order_id"] for i in wang.json()["items"]} == {theirs["id"]}
    assert wang.json()["due_within_hour"] == {"sunny": 1}
    assert idle.status_code == 200
    assert idle.json()["items"] == [] and idle.json()["due_within_hour"] == {}
    assert len({i["work_order_id"] for i in dispatcher.json()["items"]}) == 3


async def test_residents_may_not_list_the_clocks_at_risk(api: Api) -> None:
    response = await api.client.get("/v1/sla/at-risk", headers=auth(Role.RESIDENT))

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


async def test_the_sla_endpoints_are_documented(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()

    view = schema["paths"]["/v1/work-orders/{work_order_id}/sla"]["get"]
    assert view["summary"]
    assert view["responses"]["200"]["content"]["application/json"]["example"]["clocks"]
    assert "/v1/sla/at-risk" in schema["paths"]


async def test_working_day_clocks_run_in_the_projects_time_zone(api: Api) -> None:
    details = {"name": "Alpine Court", "time_zone": "Europe/Berlin", "households": 40}
    registered = await api.client.post(
        "/v1/projects", json={"project": "alps", "details": details}, headers=auth(Role.HQ_QUALITY)
    )
    assert registered.status_code == 201, registered.text
    order = await api.report(project="alps")
    await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    for step, body in (("arrive", None), ("start-work", None), ("complete", {"summary": "ok"})):
        done = await api.command(order["id"], step, Role.TECHNICIAN, body, subject="tech-wang")
        assert done.status_code == 200, done.text

    response = await sla_of(api, order["id"], auth(Role.SUPERVISOR))
    reply = {c["clock"]: c for c in response.json()["clocks"]}["reply"]

    # Completed Monday 03:00 in Berlin: the office day opens at 09:00 there, and one
    # working day (8 office hours) ends at 18:00 Berlin time, 17:00 UTC.
    assert reply["calendar"] == "working_days"
    assert instant(reply["due_at"]) == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
