"""Every clear view of a resident's data is logged before it is answered; whoever does not
need the data sees masks; only a privacy officer reads the log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from services.dispatch.adapters.memory_access_log import InMemoryAccessLog
from shared.auth import Role
from shared.privacy.pseudonym import is_resident_reference
from tests.integration.dispatch.api_support import Api, auth, report_body, running_api, token
from tests.integration.notify.support import eventually

READ = "GET /v1/work-orders/{work_order_id}"
LOG = "/v1/privacy/access-log"
CLEAR = {"name": "张三", "phone": "13800000000", "resident_id": "res-7"}
MASKED = {"name": "张*", "phone": "138****0000", "resident_id": "res-7"}


def _shown(reporter: dict[str, Any]) -> dict[str, Any]:
    """An answer's reporter without their reference, which every answer carries."""
    shown = dict(reporter)
    assert is_resident_reference(shown.pop("resident")), reporter
    assert "sealed" not in shown, "no answer carries the sealed tokens"
    return shown


async def _entries(api: Api, **params: str) -> list[dict[str, Any]]:
    found = await api.client.get(LOG, params=params, headers=auth(Role.PRIVACY_OFFICER))
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


async def _read(api: Api, wid: str, role: Role, subject: str | None = None) -> httpx.Response:
    return await api.client.get(f"/v1/work-orders/{wid}", headers=auth(role, subject=subject))


async def _assigned_to_li_after_wang_handed_back(api: Api) -> str:
    wid = str((await api.report(reporter=CLEAR))["id"])
    for name, role, body, subject in (
        ("assign", Role.DISPATCHER, {"assignee": "tech-wang"}, None),
        ("hand-back", Role.TECHNICIAN, {"reason": "腰伤，无法登高"}, "tech-wang"),
        ("assign", Role.DISPATCHER, {"assignee": "tech-li"}, None),
    ):
        done = await api.command(wid, name, role, body, subject=subject)
        assert done.status_code == 200, (name, done.text)
    return wid


async def test_a_supervisors_read_is_logged_with_who_whose_which_and_why(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])

    read = await _read(api, wid, Role.SUPERVISOR)
    [entry] = await _entries(api, subject="supervisor-1")

    assert read.status_code == 200 and _shown(read.json()["reporter"]) == CLEAR
    assert entry["role"] == "supervisor" and entry["purpose"] == READ
    # Whose: the resident's pseudonymous reference, as the events name them.
    reference = read.json()["reporter"]["resident"]
    assert (entry["resident"], entry["work_order_id"]) == (reference, wid)
    assert entry["fields"] == ["reporter.name", "reporter.phone", "location.unit"]
    assert entry["at"] == api.clock.now().isoformat()


async def test_the_technician_assigned_sees_and_is_logged_the_one_before_sees_masks(
    api: Api,
) -> None:
    wid = await _assigned_to_li_after_wang_handed_back(api)

    assigned = await _read(api, wid, Role.TECHNICIAN, "tech-li")
    before = await _read(api, wid, Role.TECHNICIAN, "tech-wang")
    history = await api.client.get(
        f"/v1/work-orders/{wid}/events", headers=auth(Role.TECHNICIAN, subject="tech-wang")
    )

    assert _shown(assigned.json()["reporter"]) == CLEAR
    assert before.status_code == 200
    assert _shown(before.json()["reporter"]) == MASKED
    assert before.json()["location"]["unit"] == "*-***"
    reported = history.json()["items"][0]["data"]
    assert _shown(reported["reporter"]) == MASKED and "13800000000" not in history.text
    assert [e["purpose"] for e in await _entries(api, subject="tech-li")] == [READ]
    # Even the answer to tech-wang's hand-back showed masks: the work was no longer theirs.
    assert await _entries(api, subject="tech-wang") == []


async def test_a_technicians_own_list_is_clear_and_logged(api: Api) -> None:
    wid = await _assigned_to_li_after_wang_handed_back(api)

    listed = await api.client.get(
        "/v1/work-orders", headers=auth(Role.TECHNICIAN, subject="tech-li")
    )

    [order] = listed.json()["items"]
    assert order["id"] == wid and _shown(order["reporter"]) == CLEAR
    assert [e["purpose"] for e in await _entries(api, subject="tech-li")] == ["GET /v1/work-orders"]


async def test_listings_mask_for_roles_that_do_not_call_every_resident(api: Api) -> None:
    await api.report(reporter=CLEAR)

    by_role = {
        role: (await api.client.get("/v1/work-orders", headers=auth(role))).json()["items"][0]
        for role in (Role.DISPATCHER, Role.PROJECT_MANAGER, Role.HQ_QUALITY, Role.SUPERVISOR)
    }

    assert _shown(by_role[Role.DISPATCHER]["reporter"]) == MASKED
    assert _shown(by_role[Role.PROJECT_MANAGER]["reporter"]) == MASKED
    assert _shown(by_role[Role.HQ_QUALITY]["reporter"]) == MASKED
    assert _shown(by_role[Role.SUPERVISOR]["reporter"]) == CLEAR
    listed = [e["role"] for e in await _entries(api) if e["purpose"] == "GET /v1/work-orders"]
    assert listed == ["supervisor"]


async def test_customer_service_lists_its_own_calls_in_clear_and_others_masked(
    api: Api,
) -> None:
    own = await api.report(reporter=CLEAR)
    theirs = await api.client.post(
        "/v1/work-orders",
        json=report_body(reporter=CLEAR),
        headers=auth(Role.CUSTOMER_SERVICE, subject="cs-2"),
    )
    assert theirs.status_code == 201, theirs.text

    listed = await api.client.get("/v1/work-orders", headers=auth(Role.CUSTOMER_SERVICE))

    by_id = {o["id"]: _shown(o["reporter"]) for o in listed.json()["items"]}
    assert by_id == {own["id"]: CLEAR, theirs.json()["id"]: MASKED}


async def test_a_resident_reading_their_own_order_is_not_an_access_to_log(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    before = await _entries(api)

    own = await _read(api, wid, Role.RESIDENT, "res-7")

    assert _shown(own.json()["reporter"]) == CLEAR
    assert await _entries(api) == before


async def test_a_resident_search_logs_each_resident_found(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])

    found = await api.client.get(
        "/v1/residents", params={"phone": "13800000000"}, headers=auth(Role.CUSTOMER_SERVICE)
    )
    [entry] = [e for e in await _entries(api) if e["purpose"] == "GET /v1/residents"]

    assert found.status_code == 200, found.text
    [resident] = found.json()["items"]
    assert is_resident_reference(resident["resident"])
    assert (entry["resident"], entry["work_order_id"]) == (resident["resident"], wid)
    assert entry["fields"] == ["reporter.name", "location.unit"]


async def test_a_read_that_cannot_be_logged_is_refused(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    unreachable = InMemoryAccessLog()
    unreachable.failing = True
    api.dispatch.access_log = unreachable

    refused = await _read(api, wid, Role.SUPERVISOR)
    masked = await _read(api, wid, Role.PROJECT_MANAGER)

    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "access_log_unavailable"
    assert "13800000000" not in refused.text
    # Nothing clear, nothing to log: a masked view is still answered.
    assert masked.status_code == 200 and _shown(masked.json()["reporter"]) == MASKED


async def test_only_a_privacy_officer_reads_the_log(api: Api) -> None:
    for role in Role:
        if role is Role.PRIVACY_OFFICER:
            continue
        refused = await api.client.get(LOG, headers=auth(role))
        assert refused.status_code == 403, role
        assert refused.json()["code"] == "role_not_allowed"


async def test_the_log_pages_and_refuses_bad_input(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    for _ in range(3):
        await _read(api, wid, Role.SUPERVISOR)
    officer = auth(Role.PRIVACY_OFFICER)

    first = await api.client.get(LOG, params={"limit": 2}, headers=officer)
    cursor = first.json()["next_cursor"]
    rest = await api.client.get(LOG, params={"limit": 2, "cursor": cursor}, headers=officer)
    bad_cursor = await api.client.get(LOG, params={"cursor": "x"}, headers=officer)
    backwards = await api.client.get(
        LOG,
        params={"from": "2026-03-02T10:00:00+08:00", "to": "2026-03-01T10:00:00+08:00"},
        headers=officer,
    )
    no_zone = await api.client.get(LOG, params={"from": "2026-03-02T10:00:00"}, headers=officer)
    other_tenant = await api.client.get(
        LOG,
        headers={"Authorization": "Bearer " + token(Role.PRIVACY_OFFICER, tenant="other")},
    )

    # The report's answer (customer service) and three reads: four entries.
    assert [len(first.json()["items"]), len(rest.json()["items"])] == [2, 2]
    assert rest.json()["next_cursor"] is None
    assert bad_cursor.status_code == 422 and bad_cursor.json()["code"] == "invalid_cursor"
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_range"
    assert no_zone.status_code == 422
    assert other_tenant.json()["items"] == []


async def test_the_running_service_prunes_entries_past_their_retention(
    database_url: str,
) -> None:
    async with running_api(
        database_url, sla_scheduler_enabled=False, personal_data_access_log_retention_days=1
    ) as api:
        wid = str((await api.report(reporter=CLEAR))["id"])
        kept = await _entries(api)
        ready = (await api.client.get("/readyz")).json()

        # The loop's next pass is an hour away on the service's clock: a day and that hour on.
        api.clock.advance(timedelta(days=1, hours=1))

        async def pruned() -> bool:
            return await _entries(api) == []

        await eventually(pruned, what="the expired entry pruned")

    assert [e["work_order_id"] for e in kept] == [wid]
    assert ready["loops"]["access-log-retention"]["state"] == "running"
