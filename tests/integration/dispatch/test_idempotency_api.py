"""`Idempotency-Key` over HTTP: a key is its caller's own, and a replay is authorized first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.integration.dispatch.api_support import Api, auth, report_body, running_api


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(database_url) as running:
        yield running


def keyed(role: Role, subject: str, key: str, projects: list[str] | None = None) -> dict[str, str]:
    return {**auth(role, projects, subject), "Idempotency-Key": key}


async def report(api: Api, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await api.client.post("/v1/work-orders", json=report_body(**body), headers=headers)


async def assigned_to_wang(api: Api) -> str:
    order = await api.report()
    assigned = await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    assert assigned.status_code == 200, assigned.text
    return str(order["id"])


async def test_the_same_key_from_another_caller_is_an_independent_command(api: Api) -> None:
    li = await report(api, keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-1"))
    zhao = await report(api, keyed(Role.CUSTOMER_SERVICE, "cs-zhao", "call-1"))

    assert li.status_code == zhao.status_code == 201
    assert "Idempotent-Replayed" not in zhao.headers
    assert zhao.json()["id"] != li.json()["id"]
    assert zhao.json()["owner"] == "cs-zhao" and li.json()["owner"] == "cs-li"


async def test_each_caller_replays_their_own_answer_of_a_shared_key(api: Api) -> None:
    li_first = await report(api, keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-1"))
    zhao_first = await report(
        api, keyed(Role.CUSTOMER_SERVICE, "cs-zhao", "call-1"), description="别的事"
    )
    count = await api.event_count()
    li_again = await report(api, keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-1"))
    zhao_again = await report(
        api, keyed(Role.CUSTOMER_SERVICE, "cs-zhao", "call-1"), description="别的事"
    )

    assert zhao_first.status_code == 201, zhao_first.text
    assert li_again.json() == li_first.json() and zhao_again.json() == zhao_first.json()
    assert li_again.headers["Idempotent-Replayed"] == zhao_again.headers["Idempotent-Replayed"]
    assert await api.event_count() == count


async def test_a_replay_of_a_bodyless_command_to_a_caller_who_may_not_see_the_order_is_404(
    api: Api,
) -> None:
    wid = await assigned_to_wang(api)
    arrived = await api.client.post(
        f"/v1/work-orders/{wid}/arrive", headers=keyed(Role.TECHNICIAN, "tech-wang", "visit-1")
    )
    plain_read = await api.client.get(
        f"/v1/work-orders/{wid}", headers=auth(Role.TECHNICIAN, subject="tech-li")
    )

    stolen = [
        await api.client.post(f"/v1/work-orders/{wid}/arrive", headers=keyed(role, who, "visit-1"))
        for role, who in ((Role.TECHNICIAN, "tech-li"), (Role.RESIDENT, "resident-9"))
    ]

    assert arrived.status_code == 200 and arrived.json()["reporter"]["phone"] == "13800000000"
    assert plain_read.status_code == 404
    for answer in stolen:
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "work_order_not_found"
        assert "13800000000" not in answer.text


async def test_a_replay_to_the_same_caller_who_lost_the_project_is_404(api: Api) -> None:
    order = await api.report()
    wid = order["id"]
    body = {"due_at": "2026-03-03T02:00:00+00:00"}
    path = f"/v1/work-orders/{wid}/make-commitment"
    first = await api.client.post(
        path, json=body, headers=keyed(Role.CUSTOMER_SERVICE, "cs-li", "promise-1", ["sunny"])
    )

    moved = await api.client.post(
        path, json=body, headers=keyed(Role.CUSTOMER_SERVICE, "cs-li", "promise-1", ["river"])
    )
    reported_again = await report(api, keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-9", ["sunny"]))
    report_moved = await report(api, keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-9", ["river"]))

    assert first.status_code == 200, first.text
    assert moved.status_code == 404 and moved.json()["code"] == "work_order_not_found"
    assert reported_again.status_code == 201
    assert report_moved.status_code == 422 and report_moved.json()["code"] == "unknown_project"


async def test_the_same_callers_replay_returns_the_stored_answer_after_the_order_moved_on(
    api: Api,
) -> None:
    wid = await assigned_to_wang(api)
    wang = keyed(Role.TECHNICIAN, "tech-wang", "visit-1")
    first = await api.client.post(f"/v1/work-orders/{wid}/arrive", headers=wang)
    started = await api.command(wid, "start-work", Role.TECHNICIAN, subject="tech-wang")
    count = await api.event_count()

    again = await api.client.post(f"/v1/work-orders/{wid}/arrive", headers=wang)

    assert first.status_code == again.status_code == 200
    assert started.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await api.event_count() == count


async def test_the_same_key_with_another_body_is_refused_only_for_the_same_caller(
    api: Api,
) -> None:
    await report(api, keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-1"))

    reused = await report(
        api, keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-1"), description="别的事"
    )
    someone_else = await report(
        api, keyed(Role.CUSTOMER_SERVICE, "cs-zhao", "call-1"), description="别的事"
    )

    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert someone_else.status_code == 201, someone_else.text


async def test_the_key_is_documented_as_the_callers_own(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    arrive = schema["paths"]["/v1/work-orders/{work_order_id}/arrive"]["post"]

    [header] = [p for p in arrive["parameters"] if p["name"] == "idempotency-key"]

    assert "subject" in header["description"] and "404" in header["description"]
