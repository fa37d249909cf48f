"""notify reads a resident's contact at send time, as its service identity, logged first;
an erased resident's contact is gone (410); a notifier token opens nothing else."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from services.dispatch.adapters.memory_access_log import InMemoryAccessLog
from services.dispatch.entrypoints.app import create_app
from services.dispatch.settings import DispatchSettings
from shared.auth import Role
from shared.privacy.pseudonym import reporter_reference
from tests.integration.dispatch.api_support import TENANT, Api, auth, token

CLEAR = {"name": "张三", "phone": "138 0000 0000", "resident_id": "res-7"}


def reference_of(api: Api, phone: str) -> str:
    key = api.dispatch.settings.privacy_keys().resident_reference
    return reporter_reference(key, TENANT, phone=phone, resident_id=None, work_order_id="-")


async def contact(api: Api, ref: str, wid: str, role: Role = Role.NOTIFIER, **kw: Any) -> Any:
    return await api.client.get(
        f"/v1/residents/{ref}/contact",
        params={"work_order": wid},
        headers=auth(role, subject=kw.get("subject", "notify"), projects=kw.get("projects")),
    )


async def test_the_notifier_reads_the_latest_contact_and_the_read_is_logged(api: Api) -> None:
    first = str((await api.report(reporter=CLEAR))["id"])
    moved = {"building": "b1", "unit": "3-303", "detail": "新家"}
    api.clock.advance(timedelta(days=30))
    latest = str((await api.report(reporter=CLEAR, location=moved))["id"])
    ref = reference_of(api, "13800000000")

    answer = await contact(api, ref, first)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "resident": ref,
        "name": "张三",
        "phone": "138 0000 0000",
        "unit": "3-303",
        "detail": "新家",
        "erased": False,
    }
    log = await api.client.get(
        "/v1/privacy/access-log", params={"resident": ref}, headers=auth(Role.PRIVACY_OFFICER)
    )
    # The reports' own answers showed customer service the values too (logged); the
    # notifier's read is the one entry of its role.
    [entry] = [e for e in log.json()["items"] if e["role"] == "notifier"]
    assert (entry["role"], entry["subject"], entry["purpose"]) == (
        "notifier",
        "notify",
        "notification",
    )
    assert entry["work_order_id"] == latest
    assert entry["fields"] == [
        "reporter.name",
        "reporter.phone",
        "location.unit",
        "location.detail",
    ]


async def test_an_erased_resident_is_gone_and_nothing_is_logged(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    ref = reference_of(api, "13800000000")
    await api.dispatch.privacy.fields.erase(TENANT, ref)

    answer = await contact(api, ref, wid)

    assert answer.status_code == 410 and answer.json()["code"] == "resident_erased"
    assert "13800000000" not in answer.text and "张三" not in answer.text
    log = await api.client.get(
        "/v1/privacy/access-log", params={"resident": ref}, headers=auth(Role.PRIVACY_OFFICER)
    )
    assert [e for e in log.json()["items"] if e["role"] == "notifier"] == []


async def test_unknown_residents_and_orders_of_someone_else_are_not_found(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    other = str((await api.report(reporter={"name": "李四", "phone": "13900000000"}))["id"])
    ref = reference_of(api, "13800000000")

    for asked in (other, "no-such-order"):
        answer = await contact(api, ref, asked)
        assert answer.status_code == 404 and answer.json()["code"] == "unknown_resident"
    # Another tenant's notifier: the same reference names nobody there.
    elsewhere = await api.client.get(
        f"/v1/residents/{ref}/contact",
        params={"work_order": wid},
        headers={"Authorization": "Bearer " + _token_of_tenant("other")},
    )
    assert elsewhere.status_code == 404
    malformed = await contact(api, "rsd_NOT-A-REFERENCE", wid)
    assert malformed.status_code == 422


def _token_of_tenant(tenant: str) -> str:
    return token(Role.NOTIFIER, subject="notify", tenant=tenant)


async def test_staff_of_the_residents_projects_may_read_it_others_may_not(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    ref = reference_of(api, "13800000000")

    supervisor = await contact(api, ref, wid, Role.SUPERVISOR, subject="sup-1")
    elsewhere = await contact(api, ref, wid, Role.CUSTOMER_SERVICE, projects=["river"])
    technician = await contact(api, ref, wid, Role.TECHNICIAN)

    assert supervisor.status_code == 200 and supervisor.json()["phone"] == "138 0000 0000"
    assert elsewhere.status_code == 404
    assert technician.status_code == 403 and technician.json()["code"] == "role_not_allowed"


async def test_an_answer_that_cannot_be_logged_is_not_sent(api: Api) -> None:
    wid = str((await api.report(reporter=CLEAR))["id"])
    ref = reference_of(api, "13800000000")
    api.dispatch.access_log = _Broken()

    answer = await contact(api, ref, wid)

    assert answer.status_code == 503 and answer.json()["code"] == "access_log_unavailable"
    assert "13800000000" not in answer.text


class _Broken(InMemoryAccessLog):
    async def record(self, entries: Any) -> None:
        raise OSError("disk full")


async def test_a_notifier_token_is_refused_on_every_other_route(api: Api) -> None:
    document = create_app(DispatchSettings(environment="development")).openapi()
    guarded = [
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") and not path.endswith("/contact")
    ]
    assert len(guarded) > 40  # every route that authenticates its caller, not a sample
    headers = auth(Role.NOTIFIER, subject="notify")
    events_before = await api.event_count()
    for method, template in guarded:
        path = re.sub(r"\{[^}]+\}", "x1", template)
        answer = await api.client.request(method.upper(), path, headers=headers, json={})
        assert answer.status_code == 403, (method, template, answer.text)
        assert answer.json()["code"] == "role_not_allowed", (method, template)
    assert await api.event_count() == events_before
