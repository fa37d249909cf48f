"""dispatch over HTTP: the lifecycle, refusals with problem details, scoping, idempotency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from shared.auth import Role
from tests.integration.dispatch.api_support import NOW, Api, auth, report_body, running_api
from tests.integration.dispatch.assignment_support import hire


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(database_url) as running:
        yield running


def later(**delta: float) -> str:
    return (NOW + timedelta(**delta)).isoformat()


async def test_a_repair_goes_from_report_to_close_over_http(api: Api) -> None:
    order = await api.report()
    wid = order["id"]
    tech = {"subject": "tech-wang"}
    steps = [
        ("assign", Role.DISPATCHER, {"assignee": "tech-wang"}, {}),
        ("arrive", Role.TECHNICIAN, None, tech),
        ("start-work", Role.TECHNICIAN, None, tech),
        ("make-commitment", Role.CUSTOMER_SERVICE, {"due_at": later(days=2)}, {}),
        ("postpone", Role.CUSTOMER_SERVICE, {"new_due_at": later(days=3), "reason": "缺配件"}, {}),
        ("complete", Role.TECHNICIAN, {"summary": "换了水管"}, tech),
        ("give-feedback", Role.CUSTOMER_SERVICE, {"message": "已修好"}, {}),
        ("record-follow-up", Role.CUSTOMER_SERVICE, {"rating": 5, "comment": "满意"}, {}),
        ("close", Role.CUSTOMER_SERVICE, None, {}),
    ]
    for name, role, body, kw in steps:
        response = await api.command(wid, name, role, body, **kw)
        assert response.status_code == 200, (name, response.text)

    state = await api.client.get(f"/v1/work-orders/{wid}", headers=auth(Role.SUPERVISOR))
    history = await api.client.get(f"/v1/work-orders/{wid}/events", headers=auth(Role.SUPERVISOR))

    assert state.status_code == 200
    assert state.json()["status"] == "closed"
    items = history.json()["items"]
    assert state.json()["version"] == len(items)
    assert state.headers["ETag"] == f'"{len(items)}"'
    types = [e["type"] for e in items if not e["type"].startswith("workorder.sla_")]
    assert types == [
        "workorder.reported.v1",
        "workorder.assigned.v1",
        "workorder.arrived.v1",
        "workorder.work_started.v1",
        "workorder.commitment_made.v1",
        "workorder.postponed.v1",
        "workorder.completed.v1",
        "workorder.feedback_given.v1",
        "workorder.follow_up_recorded.v1",
        "workorder.closed.v1",
    ]
    assert [e["sequence"] for e in items] == list(range(1, len(items) + 1))
    assert {e["subject"] for e in items} == {wid}


async def test_report_answers_201_with_location_etag_and_owner(api: Api) -> None:
    response = await api.client.post(
        "/v1/work-orders", json=report_body(), headers=auth(Role.CUSTOMER_SERVICE)
    )

    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"/v1/work-orders/{body['id']}"
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert body["owner"] == "customer_service-1"
    assert body["status"] == "reported"
    assert response.headers["x-correlation-id"]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"project": "sunny", ', 400, "malformed_json"),
        (b'{"project": "sunny", "kind": 5}', 422, "validation_failed"),
        (b'{"project": "sunny", "kind": "repair", "surprise": 1}', 422, "validation_failed"),
    ],
    ids=["malformed-json", "wrong-types", "unknown-field"],
)
async def test_malformed_reports_get_problem_details_and_write_nothing(
    api: Api, content: bytes, status: int, code: str
) -> None:
    before = await api.event_count()
    headers = {**auth(Role.CUSTOMER_SERVICE), "Content-Type": "application/json"}

    response = await api.client.post("/v1/work-orders", content=content, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert response.json()["status"] == status
    assert response.json()["detail"]
    assert await api.event_count() == before


@pytest.mark.parametrize(
    ("overrides", "code"),
    [({"project": "atlantis"}, "unknown_project"), ({"project": "Bad Slug!"}, "validation_failed")],
    ids=["unknown-project", "bad-slug"],
)
async def test_reports_for_unknown_projects_or_bad_slugs_are_refused(
    api: Api, overrides: dict[str, str], code: str
) -> None:
    before = await api.event_count()

    response = await api.client.post(
        "/v1/work-orders", json=report_body(**overrides), headers=auth(Role.CUSTOMER_SERVICE)
    )

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert await api.event_count() == before


async def test_an_oversized_body_is_refused_with_413(api: Api) -> None:
    before = await api.event_count()

    response = await api.client.post(
        "/v1/work-orders",
        json=report_body(description="漏" * 100_000),
        headers=auth(Role.CUSTOMER_SERVICE),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert await api.event_count() == before


async def test_a_role_that_may_not_assign_gets_403(api: Api) -> None:
    order = await api.report()
    before = await api.event_count()

    response = await api.command(order["id"], "assign", Role.CUSTOMER_SERVICE, {"assignee": "me"})

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"
    assert await api.event_count() == before


async def test_a_token_of_another_project_can_neither_read_nor_change_it(api: Api) -> None:
    order = await api.report()
    river_only = auth(Role.SUPERVISOR, projects=["river"])
    before = await api.event_count()

    read = await api.client.get(f"/v1/work-orders/{order['id']}", headers=river_only)
    change = await api.client.post(
        f"/v1/work-orders/{order['id']}/assign", json={"assignee": "x"}, headers=river_only
    )
    report = await api.client.post(
        "/v1/work-orders",
        json=report_body(),
        headers=auth(Role.CUSTOMER_SERVICE, projects=["river"]),
    )
    listing = await api.client.get("/v1/work-orders", headers=river_only)

    assert read.status_code == 404 and read.json()["code"] == "work_order_not_found"
    assert change.status_code == 404
    assert report.status_code == 422 and report.json()["code"] == "unknown_project"
    assert listing.json()["items"] == []
    assert await api.event_count() == before


async def test_a_stale_if_match_gets_412_and_a_current_one_succeeds(api: Api) -> None:
    order = await api.report()
    assigned = await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    etag = assigned.headers["ETag"]
    before = await api.event_count()

    stale = await api.command(
        order["id"], "report-progress", Role.DISPATCHER, {"note": "x"}, headers={"If-Match": '"1"'}
    )
    after_stale = await api.event_count()
    current = await api.command(
        order["id"], "report-progress", Role.DISPATCHER, {"note": "x"}, headers={"If-Match": etag}
    )

    assert stale.status_code == 412
    assert stale.json()["code"] == "stale_version"
    assert after_stale == before
    assert current.status_code == 200
    assert current.headers["ETag"] == f'"{current.json()["version"]}"'
    assert await api.event_count() > before


@pytest.mark.parametrize("header", [None, "Bearer not-a-jwt", "Basic abc"])
async def test_requests_without_a_valid_token_get_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}

    response = await api.client.post("/v1/work-orders", json=report_body(), headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] in {"missing_token", "invalid_token"}


async def test_a_transition_the_state_does_not_allow_names_the_current_state(api: Api) -> None:
    order = await api.report()

    response = await api.command(order["id"], "close", Role.CUSTOMER_SERVICE)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "reported" in response.json()["detail"]


async def test_a_repeated_idempotency_key_returns_the_first_result_and_appends_nothing(
    api: Api,
) -> None:
    headers = {**auth(Role.CUSTOMER_SERVICE), "Idempotency-Key": "call-123"}

    first = await api.client.post("/v1/work-orders", json=report_body(), headers=headers)
    count = await api.event_count()
    again = await api.client.post("/v1/work-orders", json=report_body(), headers=headers)
    other = await api.client.post(
        "/v1/work-orders", json=report_body(description="别的事"), headers=headers
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await api.event_count() == count
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


async def test_a_second_postponement_is_refused_unless_a_supervisor_overrides(api: Api) -> None:
    order = await api.report()
    wid = order["id"]
    await api.command(wid, "make-commitment", Role.CUSTOMER_SERVICE, {"due_at": later(days=1)})
    await api.command(
        wid, "postpone", Role.CUSTOMER_SERVICE, {"new_due_at": later(days=2), "reason": "a"}
    )

    refused = await api.command(
        wid, "postpone", Role.CUSTOMER_SERVICE, {"new_due_at": later(days=3), "reason": "b"}
    )
    overridden = await api.command(
        wid,
        "postpone",
        Role.SUPERVISOR,
        {"new_due_at": later(days=3), "reason": "b", "override_reason": "业主同意"},
    )
    history = await api.client.get(f"/v1/work-orders/{wid}/events", headers=auth(Role.SUPERVISOR))

    assert refused.status_code == 409 and refused.json()["code"] == "second_postponement"
    assert overridden.status_code == 200
    assert [e["type"] for e in history.json()["items"] if "sla_" not in e["type"]][-2:] == [
        "workorder.postponement_override_granted.v1",
        "workorder.postponed.v1",
    ]


async def test_listing_filters_and_pages_with_a_cursor(api: Api) -> None:
    ids = []
    for minute in range(5):
        api.clock.advance(timedelta(minutes=1))
        ids.append((await api.report(kind="complaint" if minute % 2 else "repair"))["id"])
    supervisor = auth(Role.SUPERVISOR)

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/v1/work-orders", params=params, headers=supervisor)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    complaints = (
        await api.client.get("/v1/work-orders", params={"kind": "complaint"}, headers=supervisor)
    ).json()
    bad_cursor = await api.client.get(
        "/v1/work-orders", params={"cursor": "nonsense"}, headers=supervisor
    )

    assert seen == list(reversed(ids))
    assert [i["id"] for i in complaints["items"]] == [ids[3], ids[1]]
    assert bad_cursor.status_code == 422 and bad_cursor.json()["code"] == "invalid_cursor"


async def test_residents_see_only_their_own_work_orders(api: Api) -> None:
    await hire(api, "cs-li", role="customer_service", trades=())
    mine = await api.client.post(
        "/v1/work-orders",
        json=report_body(reporter={"name": "李四", "resident_id": "res-li"}, channel="app"),
        headers=auth(Role.RESIDENT, subject="res-li"),
    )
    theirs = await api.report()
    resident = auth(Role.RESIDENT, subject="res-li")

    listing = (await api.client.get("/v1/work-orders", headers=resident)).json()
    foreign = await api.client.get(f"/v1/work-orders/{theirs['id']}", headers=resident)

    assert mine.status_code == 201, mine.text
    assert [i["id"] for i in listing["items"]] == [mine.json()["id"]]
    assert foreign.status_code == 404


async def test_projects_are_registered_once_by_managers_and_updated(api: Api) -> None:
    details = {"name": "Lake", "time_zone": "Asia/Shanghai", "households": 300}
    hq = auth(Role.HQ_QUALITY)

    created = await api.client.post(
        "/v1/projects", json={"project": "lake", "details": details}, headers=hq
    )
    again = await api.client.post(
        "/v1/projects", json={"project": "lake", "details": details}, headers=hq
    )
    by_technician = await api.client.post(
        "/v1/projects", json={"project": "pond", "details": details}, headers=auth(Role.TECHNICIAN)
    )
    updated = await api.client.put(
        "/v1/projects/lake",
        json={"details": {**details, "households": 320}},
        headers=auth(Role.PROJECT_MANAGER),
    )
    read = await api.client.get("/v1/projects/lake", headers=hq)
    bad_zone = await api.client.put(
        "/v1/projects/lake", json={"details": {**details, "time_zone": "Mars/Olympus"}}, headers=hq
    )

    assert created.status_code == 201
    assert again.status_code == 409 and again.json()["code"] == "project_exists"
    assert by_technician.status_code == 403
    assert updated.status_code == 200
    assert read.json()["households"] == 320
    assert bad_zone.status_code == 422 and bad_zone.json()["code"] == "unknown_time_zone"


async def test_openapi_documents_every_command(api: Api) -> None:
    from services.dispatch.domain.commands import WORK_ORDER_COMMANDS

    spec = (await api.client.get("/openapi.json")).json()

    for name in WORK_ORDER_COMMANDS:
        assert f"/v1/work-orders/{{work_order_id}}/{name}" in spec["paths"]
    assert "/v1/work-orders" in spec["paths"]
    accept = spec["paths"]["/v1/work-orders/{work_order_id}/accept-offer"]["post"]
    assert "over_load_limit" in accept["responses"]["409"]["description"]


async def test_metrics_expose_requests_and_appended_events(api: Api) -> None:
    await api.report()

    text = (await api.client.get("/metrics")).text

    assert (
        'http_requests_total{method="POST",route="/v1/work-orders",service="dispatch",status="201"}'
        in text
    )
    assert 'dispatch_events_appended_total{type="workorder.reported"}' in text


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
