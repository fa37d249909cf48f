"""A resident's rights over their data through dispatch's API, on SQLite and PostgreSQL:
erasure (crypto-shredding, idempotent, on the stream without personal data), correction
(recorded with who), export (complete, logged, refused whole when notify is down) and
retention (a dry run, and a loop that erases only the residents due)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.notify_messages import NotifyMessages
from services.dispatch.service_layer.resident_contacts import current_contact
from shared.auth import Role
from shared.envelope import Envelope
from shared.nats import connect
from shared.phones import normalise_phone
from shared.privacy.pseudonym import resident_reference
from shared.subjects import EVENTS_STREAM
from tests.integration.dispatch.api_support import (
    TENANT,
    Api,
    auth,
    completed_repair,
    running_api,
)
from tests.integration.notify.support import eventually
from wo.processes import NatsServer

ZHANG = {"name": "张三", "phone": "13800000000"}
LI = {"name": "李四", "phone": "13911112222"}
CLEAR_VALUES = ("张三", "13800000000", "1-101")
OFFICER = auth(Role.PRIVACY_OFFICER, subject="dpo-1")


class SentMessages:
    """notify's deliveries to residents, as its API would list them."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def sent_to(self, resident: str, token: str) -> list[dict[str, Any]]:
        self.asked.append((resident, token))
        return [{"id": "d-1", "recipient": f"resident:{resident}", "channel": "sms"}]


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    """dispatch over HTTP with notify's deliveries answered by `SentMessages`."""
    async with running_api(database_url, sla_scheduler_enabled=False) as running:
        running.dispatch.resident_messages = SentMessages()
        yield running


def _reference(api: Api, phone: str) -> str:
    key = api.dispatch.settings.privacy_keys().resident_reference
    return resident_reference(key, TENANT, normalise_phone(phone))


async def _closed_order(api: Api, reporter: dict[str, str]) -> str:
    wid = await completed_repair(api, reporter=reporter)
    for name, body in (("record-follow-up", {"rating": 5, "comment": "很好"}), ("close", None)):
        response = await api.command(wid, name, Role.CUSTOMER_SERVICE, body)
        assert response.status_code == 200, (name, response.text)
    return wid


async def _erase(api: Api, ref: str, **body: Any) -> httpx.Response:
    return await api.client.post(f"/v1/residents/{ref}/erase", json=body, headers=OFFICER)


async def _resident_events(api: Api, ref: str) -> list[Any]:
    async with api.dispatch.engine.connect() as conn:
        rows = await conn.execute(select(t.events).where(t.events.c.stream_id == f"resident:{ref}"))
        return list(rows.mappings())


async def test_after_erasure_the_residents_fields_read_as_erased_through_every_api(
    api: Api,
) -> None:
    wid = await _closed_order(api, ZHANG)
    ref = _reference(api, ZHANG["phone"])

    erased = await _erase(api, ref, case="PIPL-2026-0042")

    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert (body["work_orders"], body["projects"]) == ([wid], ["sunny"])
    assert (body["reason"], body["erased_by"], body["case"]) == (
        "request",
        "dpo-1",
        "PIPL-2026-0042",
    )
    assert body["keys_destroyed"] == 1
    supervisor = auth(Role.SUPERVISOR)
    order = await api.client.get(f"/v1/work-orders/{wid}", headers=supervisor)
    history = await api.client.get(f"/v1/work-orders/{wid}/events", headers=supervisor)
    sla = await api.client.get(f"/v1/work-orders/{wid}/sla", headers=supervisor)
    found = await api.client.get(
        "/v1/residents", params={"phone": ZHANG["phone"]}, headers=auth(Role.CUSTOMER_SERVICE)
    )
    export = await api.client.get(f"/v1/residents/{ref}/personal-data", headers=OFFICER)
    # The order is still there and its history still replays: only its personal fields
    # read as erased.
    assert order.status_code == 200 and order.json()["status"] == "closed"
    assert order.json()["reporter"]["name"] == "erased"
    assert order.json()["reporter"]["phone"] == "erased"
    assert order.json()["location"]["unit"] == "erased"
    assert history.status_code == 200 and sla.status_code == 200
    assert history.json()["items"][0]["data"]["reporter"]["name"] == "erased"
    assert found.json()["items"] == []
    assert export.status_code == 200, export.text
    exported = export.json()
    assert exported["contact"]["erased"] is True and exported["contact"]["phone"] is None
    assert [o["id"] for o in exported["orders"]] == [wid]
    assert exported["orders"][0]["reporter"]["name"] == "erased"
    for answer in (order, history, export):
        assert not any(value in answer.text for value in CLEAR_VALUES)


async def test_the_erasure_event_holds_no_personal_data_and_goes_to_the_outbox(
    api: Api,
) -> None:
    await _closed_order(api, ZHANG)
    ref = _reference(api, ZHANG["phone"])

    await _erase(api, ref)

    [event] = await _resident_events(api, ref)
    assert event["type_name"] == "resident.erased" and event["project"] == "sunny"
    async with api.dispatch.engine.connect() as conn:
        [row] = (
            await conn.execute(select(t.outbox).where(t.outbox.c.event_id == event["event_id"]))
        ).mappings()
    assert row["subject"] == "events.acme.sunny.resident.erased"
    payload = orjson.loads(row["payload"])
    assert payload["subject"] == f"resident:{ref}"
    assert not any(value in row["payload"].decode() for value in CLEAR_VALUES)


async def test_a_second_erase_answers_the_first_and_records_nothing(api: Api) -> None:
    await _closed_order(api, ZHANG)
    ref = _reference(api, ZHANG["phone"])
    first = await _erase(api, ref)

    again = await _erase(api, ref)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(await _resident_events(api, ref)) == 1


async def test_a_rebuilt_index_brings_no_erased_resident_back(api: Api) -> None:
    await _closed_order(api, ZHANG)
    ref = _reference(api, ZHANG["phone"])
    first = await _erase(api, ref)

    await api.dispatch.residents.rebuild()
    found = await api.client.get(
        "/v1/residents", params={"phone": ZHANG["phone"]}, headers=auth(Role.CUSTOMER_SERVICE)
    )
    corrected = await api.client.put(
        f"/v1/residents/{ref}/contact", json={"name": "张叁"}, headers=auth(Role.SUPERVISOR)
    )
    contact = await current_contact(api.dispatch.resident_data, TENANT, ref)
    again = await _erase(api, ref)

    assert found.json()["items"] == []
    assert (corrected.status_code, corrected.json()["code"]) == (410, "resident_erased")
    assert contact.erased and contact.name is None
    assert again.json() == first.json()
    assert len(await _resident_events(api, ref)) == 1


async def test_only_a_privacy_officer_erases_and_an_unknown_resident_is_not_found(
    api: Api,
) -> None:
    await api.report(reporter=ZHANG)
    ref = _reference(api, ZHANG["phone"])

    refused = await api.client.post(
        f"/v1/residents/{ref}/erase", json={}, headers=auth(Role.SUPERVISOR)
    )
    unknown = await _erase(api, _reference(api, "13700000000"))
    not_a_reference = await _erase(api, "zhangsan")

    assert (refused.status_code, refused.json()["code"]) == (403, "role_not_allowed")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_resident")
    assert not_a_reference.status_code == 404
    assert await _resident_events(api, ref) == []


async def test_a_correction_is_recorded_with_who_and_wins_in_contact_lookups(api: Api) -> None:
    wid = str((await api.report(reporter=ZHANG))["id"])
    ref = _reference(api, ZHANG["phone"])

    corrected = await api.client.put(
        f"/v1/residents/{ref}/contact",
        json={"phone": "13900001111"},
        headers=auth(Role.CUSTOMER_SERVICE, subject="cs-7"),
    )

    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert (body["fields"], body["phone"], body["name"]) == (
        ["reporter.phone"],
        "139****1111",
        None,
    )
    assert body["corrected_by"] == "cs-7"
    [event] = await _resident_events(api, ref)
    assert event["type_name"] == "resident.corrected"
    assert "13900001111" not in orjson.dumps(event["data"]).decode()
    contact = await current_contact(api.dispatch.resident_data, TENANT, ref)
    assert (contact.name, contact.phone, contact.unit) == ("张三", "13900001111", "1-101")
    assert contact.work_order_id == wid and not contact.erased
    export = (await api.client.get(f"/v1/residents/{ref}/personal-data", headers=OFFICER)).json()
    [correction] = export["corrections"]
    assert (correction["phone"], correction["corrected_by"]) == ("13900001111", "cs-7")


async def test_an_erased_residents_data_cannot_be_corrected(api: Api) -> None:
    await api.report(reporter=ZHANG)
    ref = _reference(api, ZHANG["phone"])
    await _erase(api, ref)

    refused = await api.client.put(
        f"/v1/residents/{ref}/contact", json={"name": "张叁"}, headers=auth(Role.SUPERVISOR)
    )

    assert (refused.status_code, refused.json()["code"]) == (410, "resident_erased")


async def test_the_export_holds_contact_orders_follow_ups_and_messages_and_is_logged(
    api: Api,
) -> None:
    wid = await _closed_order(api, ZHANG)
    ref = _reference(api, ZHANG["phone"])

    export = await api.client.get(f"/v1/residents/{ref}/personal-data", headers=OFFICER)

    assert export.status_code == 200, export.text
    body = export.json()
    assert body["contact"] == {
        "resident": ref,
        "work_order": wid,
        "name": "张三",
        "phone": "13800000000",
        "unit": "1-101",
        "detail": None,
        "erased": False,
    }
    [order] = body["orders"]
    assert (order["status"], order["description"]) == ("closed", "厨房水管漏水")
    assert order["reporter"]["phone"] == "13800000000"
    assert [(f["rating"], f["comment"]) for f in order["follow_ups"]] == [(5, "很好")]
    assert body["messages"] == [{"id": "d-1", "recipient": f"resident:{ref}", "channel": "sms"}]
    log = await api.client.get(
        "/v1/privacy/access-log", params={"subject": "dpo-1"}, headers=OFFICER
    )
    [entry] = log.json()["items"]
    assert entry["purpose"] == "GET /v1/residents/{resident}/personal-data"
    assert (entry["resident"], entry["work_order_id"]) == (ref, wid)


async def test_no_export_is_answered_while_notify_cannot_be_asked(api: Api) -> None:
    await api.report(reporter=ZHANG)
    ref = _reference(api, ZHANG["phone"])

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as client:
        api.dispatch.resident_messages = NotifyMessages(client, "http://notify")
        export = await api.client.get(f"/v1/residents/{ref}/personal-data", headers=OFFICER)

    assert (export.status_code, export.json()["code"]) == (503, "notify_unavailable")


async def test_only_a_privacy_officer_exports(api: Api) -> None:
    await api.report(reporter=ZHANG)
    ref = _reference(api, ZHANG["phone"])

    refused = await api.client.get(
        f"/v1/residents/{ref}/personal-data", headers=auth(Role.SUPERVISOR)
    )

    assert (refused.status_code, refused.json()["code"]) == (403, "role_not_allowed")


async def test_retention_lists_and_its_loop_erases_only_the_residents_due(api: Api) -> None:
    closed = await _closed_order(api, ZHANG)
    await api.report(reporter=LI)  # still open: Li is not due, however long ago
    zhang, li = _reference(api, ZHANG["phone"]), _reference(api, LI["phone"])
    closed_at = api.clock.now()

    def until(days: int) -> dict[str, str]:
        return {"until": (closed_at + timedelta(days=days, seconds=1)).isoformat()}

    listed = await api.client.get("/v1/privacy/retention", params=until(1095), headers=OFFICER)
    earlier = await api.client.get("/v1/privacy/retention", params=until(1094), headers=OFFICER)
    # The dry run erased nothing.
    assert await _resident_events(api, zhang) == []
    api.clock.advance(timedelta(days=1095, seconds=1))  # wakes the resident-retention loop

    async def zhang_erased() -> bool:
        return bool(await _resident_events(api, zhang))

    await eventually(zhang_erased, what="the retention loop erasing Zhang")
    assert listed.status_code == 200, listed.text
    assert listed.json()["retention_days"] == 1095
    [due] = listed.json()["items"]
    assert due["resident"] == zhang
    assert due["due_at"] == (closed_at + timedelta(days=1095)).isoformat()
    assert earlier.json()["items"] == []
    [event] = await _resident_events(api, zhang)
    assert event["data"]["reason"] == "retention" and event["data"]["erased_by"] == "retention"
    assert event["data"]["work_orders"] == [closed]
    assert await _resident_events(api, li) == []
    assert (await api.client.get("/v1/privacy/retention", headers=OFFICER)).json()["items"] == []
    ready = (await api.client.get("/readyz")).json()
    assert ready["loops"]["resident-retention"]["state"] == "running"


async def test_nobody_but_a_privacy_officer_reads_who_is_due(api: Api) -> None:
    refused = await api.client.get("/v1/privacy/retention", headers=auth(Role.SUPERVISOR))

    assert (refused.status_code, refused.json()["code"]) == (403, "role_not_allowed")


async def test_the_erasure_reaches_the_events_stream_without_personal_data(
    database_url: str, nats_server: NatsServer
) -> None:
    async with running_api(
        database_url, sla_scheduler_enabled=False, relay_enabled=True, nats_url=nats_server.url
    ) as api:
        await _closed_order(api, ZHANG)
        ref = _reference(api, ZHANG["phone"])
        await _erase(api, ref)
        nc = await connect(nats_server.url, "test-reader")
        try:
            js = nc.jetstream()
            found: list[bytes] = []

            async def erased_on_stream() -> bool:
                try:
                    message = await js.get_last_msg(
                        EVENTS_STREAM, "events.acme.sunny.resident.erased"
                    )
                except NotFoundError:
                    return False
                found.append(message.data or b"")
                return True

            await eventually(erased_on_stream, what="resident.erased on EVENTS")
        finally:
            await nc.close()
    envelope = Envelope.model_validate_json(found[-1])
    assert envelope.type_name == "resident.erased" and envelope.subject == f"resident:{ref}"
    assert envelope.data["resident"] == ref
    assert not any(value in found[-1].decode() for value in CLEAR_VALUES)
