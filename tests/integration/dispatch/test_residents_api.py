"""`GET /v1/residents`: customer service finds a caller by the phone they reported from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.auth import Role
from tests.integration.dispatch.api_support import Api, auth, report_body, token


async def _search(
    api: Api, phone: str, role: Role = Role.CUSTOMER_SERVICE, projects: list[str] | None = None
) -> list[dict[str, Any]]:
    response = await api.client.get(
        "/v1/residents", params={"phone": phone}, headers=auth(role, projects)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _register_units(api: Api) -> None:
    details = {
        "name": "阳光花园",
        "households": 1200,
        "buildings": [{"id": "b1", "name": "1号楼", "households": 600, "units": ["1-101"]}],
    }
    response = await api.client.put(
        "/v1/projects/sunny", json={"details": details}, headers=auth(Role.HQ_QUALITY)
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "written",
    ["13800000000", "138 0000 0000", "138-0000-0000", "+86 138 0000 0000", "0086-138-0000-0000"],
)
async def test_a_caller_is_found_by_their_phone_in_any_common_format(
    api: Api, written: str
) -> None:
    await _register_units(api)
    first = await api.report()
    api.clock.advance(timedelta(hours=1))
    second = await api.report(
        reporter={"name": "张三", "phone": "+86 138-0000-0000"},
        location={"building": "b1", "unit": "1-102"},
        category="electrical",
    )
    await api.command(first["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})

    [resident] = await _search(api, written)

    assert (resident["resident_id"], resident["name"]) == (None, "张三")
    assert resident["homes"] == [
        {"project": "sunny", "building": "b1", "building_name": "1号楼", "unit": "1-102"},
        {"project": "sunny", "building": "b1", "building_name": "1号楼", "unit": "1-101"},
    ]
    assert [(o["id"], o["number"], o["status"]) for o in resident["recent_orders"]] == [
        (second["id"], second["number"], "reported"),
        (first["id"], first["number"], "assigned"),
    ]
    assert resident["recent_orders"][0]["reported_at"] == second["reported_at"]


async def test_residents_are_told_apart_by_login_then_by_name(api: Api) -> None:
    await api.report(reporter={"name": "张三", "phone": "13900000000"})
    api.clock.advance(timedelta(minutes=5))
    # Customer service noting the caller's app login ties the order to that resident.
    await api.report(reporter={"name": "李四", "phone": "139 0000 0000", "resident_id": "res-7"})

    found = await _search(api, "13900000000", Role.SUPERVISOR)

    assert [(r["resident_id"], r["name"]) for r in found] == [("res-7", "李四"), (None, "张三")]


async def test_a_number_nobody_reported_from_finds_nobody(api: Api) -> None:
    await api.report()
    await api.report(reporter={"name": "无电话"})

    assert await _search(api, "13700000000") == []


async def test_other_projects_and_other_tenants_residents_are_never_found(api: Api) -> None:
    await api.report(project="river", reporter={"name": "江景住户", "phone": "13800000000"})
    other = {"Authorization": f"Bearer {token(Role.HQ_QUALITY, tenant='other')}"}
    response = await api.client.post(
        "/v1/projects",
        json={"project": "sunny", "details": {"name": "别家", "households": 1}},
        headers=other,
    )
    assert response.status_code == 201, response.text
    other_cs = {"Authorization": f"Bearer {token(Role.CUSTOMER_SERVICE, tenant='other')}"}
    response = await api.client.post("/v1/work-orders", json=report_body(), headers=other_cs)
    assert response.status_code == 201, response.text

    assert await _search(api, "13800000000", projects=["sunny"]) == []
    [everywhere] = await _search(api, "13800000000")
    assert everywhere["name"] == "江景住户"
    response = await api.client.get(
        "/v1/residents",
        params={"phone": "13800000000", "project": "river"},
        headers=auth(Role.CUSTOMER_SERVICE, ["sunny"]),
    )
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_project"


@pytest.mark.parametrize(
    ("params", "role", "status", "code"),
    [
        ({"phone": "13800000000"}, Role.TECHNICIAN, 403, "role_not_allowed"),
        ({"phone": "13800000000"}, Role.DISPATCHER, 403, "role_not_allowed"),
        ({"phone": "13800000000"}, Role.RESIDENT, 403, "role_not_allowed"),
        ({"phone": "call me"}, Role.CUSTOMER_SERVICE, 422, "invalid_phone"),
        ({"phone": "1234"}, Role.CUSTOMER_SERVICE, 422, "invalid_phone"),
        ({"phone": "1" * 40}, Role.CUSTOMER_SERVICE, 422, "validation_failed"),
        ({"phone": "138\x000000"}, Role.CUSTOMER_SERVICE, 422, "validation_failed"),
        ({}, Role.CUSTOMER_SERVICE, 422, "validation_failed"),
        ({"phone": "13800000000", "project": "Bad Slug"}, Role.CUSTOMER_SERVICE, 422, "validation_failed"),
    ],
)  # fmt: skip
async def test_bad_requests_get_problem_details(
    api: Api, params: dict[str, str], role: Role, status: int, code: str
) -> None:
    await api.report()

    response = await api.client.get("/v1/residents", params=params, headers=auth(role))

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code and problem["status"] == status
    assert "13800000000" not in response.text or code == "validation_failed"


async def test_the_index_holds_no_phone_number_and_a_rebuild_gives_the_same_rows(api: Api) -> None:
    reported = await api.report()
    assert await _search(api, "13800000000") != []
    index = api.dispatch.residents

    rows = await _index_rows(api)
    assert [row.work_order_id for row in rows] == [reported["id"]]
    assert all("13800000000" not in str(tuple(row)) for row in rows)

    # The stored report holds the phone masked and sealed: the rebuild opens it.
    assert await index.rebuild() == 1
    assert await _index_rows(api) == rows
    [resident] = await _search(api, "138 0000 0000")
    assert resident["recent_orders"][0]["id"] == reported["id"]


async def _index_rows(api: Api) -> list[Any]:
    async with api.dispatch.engine.connect() as conn:
        query = "SELECT work_order_id, tenant, project, phone_index, subject FROM resident_reports"
        return list((await conn.exec_driver_sql(query)).all())


async def test_a_report_is_indexed_in_its_own_append_under_its_residents_reference(
    api: Api,
) -> None:
    reported = await api.report(reporter={"name": "张三", "phone": "138 0000 0000"})
    walk_in = await api.report(reporter={"name": "无电话"})

    [found] = await _search(api, "13800000000")  # at once: no loop to wait for
    rows = {row.work_order_id: row for row in await _index_rows(api)}
    history = await api.client.get(
        f"/v1/work-orders/{reported['id']}/events", headers=auth(Role.PROJECT_MANAGER)
    )
    ready = (await api.client.get("/readyz")).json()

    reference = history.json()["items"][0]["data"]["reporter"]["resident"]
    assert found["resident"] == reference == rows[reported["id"]].subject
    assert rows[walk_in["id"]].phone_index is None and rows[walk_in["id"]].subject
    assert rows[walk_in["id"]].subject != reference
    assert "resident-index" not in ready["loops"]
