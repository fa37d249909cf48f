"""Odd input to dispatch is refused at the edge with 422 problem details, never a 500."""

from __future__ import annotations

import base64
import copy

import httpx
import orjson

from services.dispatch.domain.sla import default_policy
from shared.auth import Role
from tests.integration.dispatch.api_support import Api, auth, report_body

PROBLEM = "application/problem+json"


def refused(response: httpx.Response, code: str = "validation_failed") -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code


async def test_households_past_a_bigint_are_refused_even_for_a_resident(api: Api) -> None:
    body = {
        "project": "lake",
        "details": {"name": "Lake", "time_zone": "Asia/Shanghai", "households": 2**63},
    }
    for role in (Role.RESIDENT, Role.PROJECT_MANAGER):
        refused(await api.client.post("/v1/projects", json=body, headers=auth(role)))
    body["details"] = {
        "name": "Lake",
        "time_zone": "Asia/Shanghai",
        "households": 1,
        "buildings": [{"id": "1", "name": "1", "households": 2**64}],
    }
    refused(await api.client.post("/v1/projects", json=body, headers=auth(Role.PROJECT_MANAGER)))


async def test_a_policy_version_past_a_bigint_is_refused(api: Api) -> None:
    response = await api.client.get(
        "/v1/sla/policies/99999999999999999999", headers=auth(Role.SUPERVISOR)
    )
    refused(response)


async def test_a_five_thousand_digit_if_match_is_refused(api: Api) -> None:
    order = await api.report()
    # Raw bytes, the names too: httpx's types take names and values both str or both bytes.
    dispatcher = {k.encode(): v.encode() for k, v in auth(Role.DISPATCHER).items()}
    for value in (b"9" * 5000, b'"99999999999999999999"', "²".encode()):
        response = await api.client.post(
            f"/v1/work-orders/{order['id']}/assign",
            json={"assignee": "tech-wang"},
            headers={**dispatcher, b"If-Match": value},
        )
        refused(response, "invalid_if_match")


async def test_a_report_time_that_overflows_in_utc_is_refused(api: Api) -> None:
    for params in (
        {"reported_from": "0001-01-01T00:00:00+14:00"},
        {"reported_to": "9999-12-31T23:59:59-14:00"},
        {"reported_from": "2026-03-02T10:00:00"},
    ):
        response = await api.client.get(
            "/v1/work-orders", params=params, headers=auth(Role.SUPERVISOR)
        )
        refused(response)


async def test_a_cursor_holding_a_time_without_a_zone_is_refused(api: Api) -> None:
    await api.report()
    for inside in (["2026-03-02T02:00:00", "wo-1"], ["2026-03-02T02:00:00+00:00", "a\x00b"]):
        cursor = base64.urlsafe_b64encode(orjson.dumps(inside)).decode()
        response = await api.client.get(
            "/v1/work-orders", params={"cursor": cursor}, headers=auth(Role.SUPERVISOR)
        )
        refused(response, "invalid_cursor")


async def test_control_characters_in_text_are_refused_but_newlines_in_free_text_kept(
    api: Api,
) -> None:
    for overrides in (
        {"description": "leak\x00"},
        {"category": "plumbing\n"},
        {"description": "\x1b[31mred"},
        {"reporter": {"name": "王\x07女士"}},
    ):
        response = await api.client.post(
            "/v1/work-orders", json=report_body(**overrides), headers=auth(Role.CUSTOMER_SERVICE)
        )
        refused(response)
    kept = await api.report(description="厨房水管漏水\n\t水槽下面")
    assert kept["description"] == "厨房水管漏水\n\t水槽下面"
    for path, params in (
        ("/v1/work-orders", {"assignee": "tech\x00"}),
        ("/v1/work-orders/wo%00x", {}),
    ):
        refused(await api.client.get(path, params=params, headers=auth(Role.SUPERVISOR)))


async def test_command_times_that_overflow_in_utc_are_refused(api: Api) -> None:
    # Every time a command carries is converted to UTC and to the project's zone: a year-1
    # instant east of UTC would overflow there, so it is refused at the edge.
    order = await api.report()
    far = "0001-01-01T00:00:00+14:00"
    answers = [
        await api.client.post(
            "/v1/work-orders",
            json={**report_body(), "received_at": far},
            headers=auth(Role.CUSTOMER_SERVICE),
        ),
        await api.client.post(
            f"/v1/work-orders/{order['id']}/schedule-appointment",
            json={"appointment_at": far},
            headers=auth(Role.CUSTOMER_SERVICE),
        ),
        await api.client.post(
            f"/v1/work-orders/{order['id']}/make-commitment",
            json={"due_at": far},
            headers=auth(Role.CUSTOMER_SERVICE),
        ),
    ]
    for response in answers:
        refused(response)


async def test_an_sla_policy_with_control_characters_or_an_unbounded_level_is_refused(
    api: Api,
) -> None:
    body = default_policy().model_dump(mode="json")
    del body["version"]
    odd = [
        ("clocks", 0, "categories", ["plumbing\x00"]),
        ("clocks", 0, "calendar", "24x7\x1b[2J"),
        ("escalation", 0, "to_person", "mgr\x00"),
        ("escalation", 0, "level", 2**64),
    ]
    for part, index, field, value in odd:
        changed = copy.deepcopy(body)
        changed[part][index][field] = value
        response = await api.client.post(
            "/v1/sla/policies", json=changed, headers=auth(Role.PROJECT_MANAGER)
        )
        refused(response)
