"""Work-order numbers over HTTP: in every answer, found by number within the caller's scope,
and the names messages need carried in the events."""

from __future__ import annotations

from datetime import timedelta

from shared.auth import Role
from tests.integration.dispatch.api_support import SUNNY_GARDEN, Api, auth, report_body
from tests.integration.dispatch.assignment_support import MANAGER, events_of, hire


async def register_sunny_garden(api: Api) -> None:
    response = await api.client.put(
        "/v1/projects/sunny", json={"details": SUNNY_GARDEN}, headers=MANAGER
    )
    assert response.status_code == 200, response.text


async def test_a_report_is_numbered_and_the_number_is_in_every_answer(api: Api) -> None:
    first = await api.report()
    second = await api.report()

    read = await api.client.get(f"/v1/work-orders/{first['id']}", headers=auth(Role.SUPERVISOR))
    listed = await api.client.get("/v1/work-orders", headers=auth(Role.SUPERVISOR))

    # Registered without a code: `sunny` numbers its orders SUNNY-…; 10:00 in Shanghai.
    assert first["number"] == "SUNNY-20260302-0001"
    assert second["number"] == "SUNNY-20260302-0002"
    assert read.json()["number"] == first["number"]
    assert {i["id"]: i["number"] for i in listed.json()["items"]} == {
        first["id"]: first["number"],
        second["id"]: second["number"],
    }


async def test_an_order_is_found_by_its_number_within_the_callers_scope(api: Api) -> None:
    order = await api.report()
    await api.report()
    query = {"number": order["number"]}

    found = await api.client.get("/v1/work-orders", params=query, headers=auth(Role.SUPERVISOR))
    elsewhere = await api.client.get(
        "/v1/work-orders", params=query, headers=auth(Role.SUPERVISOR, projects=["river"])
    )

    assert [i["id"] for i in found.json()["items"]] == [order["id"]]
    assert elsewhere.status_code == 200
    assert elsewhere.json()["items"] == []


async def test_a_malformed_number_is_refused_with_problem_details(api: Api) -> None:
    response = await api.client.get(
        "/v1/work-orders", params={"number": "sunny 1"}, headers=auth(Role.SUPERVISOR)
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_retried_report_gets_the_same_number(api: Api) -> None:
    headers = {**auth(Role.CUSTOMER_SERVICE), "Idempotency-Key": "report-once"}

    first = await api.client.post("/v1/work-orders", json=report_body(), headers=headers)
    again = await api.client.post("/v1/work-orders", json=report_body(), headers=headers)
    after = await api.report()

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["number"] == first.json()["number"] == "SUNNY-20260302-0001"
    assert after["number"] == "SUNNY-20260302-0002"


async def test_the_days_sequence_restarts_at_local_midnight(api: Api) -> None:
    # NOW is 10:00 in Shanghai; 13:59:59 later is 23:59:59, two seconds more 00:00:01.
    api.clock.advance(timedelta(hours=13, minutes=59, seconds=59))
    late = await api.report()
    api.clock.advance(timedelta(seconds=2))
    early = await api.report()

    assert late["number"] == "SUNNY-20260302-0001"
    assert early["number"] == "SUNNY-20260303-0001"


async def test_a_registered_code_and_the_names_go_into_the_events(api: Api) -> None:
    await register_sunny_garden(api)
    await hire(api, "cs-li", role="customer_service", trades=("customer_service",), name="李客服")
    await hire(api, "tech-wang", name="王师傅")
    body = report_body(location={"building": "b2", "unit": "2-202"}, owner="cs-li")

    response = await api.client.post(
        "/v1/work-orders", json=body, headers=auth(Role.CUSTOMER_SERVICE)
    )
    order = response.json()
    assigned = await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    reported, assignment = (await events_of(api, order["id"]))[:2]

    assert assigned.status_code == 200, assigned.text
    assert order["number"] == "SG-20260302-0001"
    assert reported["data"]["number"] == order["number"]
    assert reported["data"]["project_name"] == "阳光花园"
    assert reported["data"]["building_name"] == "2号楼"
    assert reported["data"]["owner_name"] == "李客服"
    assert assignment["data"]["assignee_name"] == "王师傅"


async def test_a_project_code_that_is_not_capitals_is_refused(api: Api) -> None:
    details = {**SUNNY_GARDEN, "code": "sg"}

    response = await api.client.put(
        "/v1/projects/sunny", json={"details": details}, headers=MANAGER
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
