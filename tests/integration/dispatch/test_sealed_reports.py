"""A report's personal data is sealed on the write path: the stored event, the outbox
payload, the listing row, the idempotency record and the residents' index hold the
resident's reference, masks and tokens, never a clear value; answers open the tokens for
whoever may see them (logged), and an erased resident's values read as erased while the
order's history still replays."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.dispatch.adapters import tables as t
from shared.auth import Role
from shared.events.catalogue import parse
from shared.privacy.envelope import is_sealed
from shared.privacy.pseudonym import is_resident_reference
from tests.integration.dispatch.api_support import Api, auth

NAME, PHONE, UNIT, DETAIL = "欧阳娜娜", "13912345678", "7-2304", "2号卫生间"
SEEDED = (NAME, PHONE, UNIT, DETAIL, "2345678")
"""The clear values and a part of the phone no mask shows (the mask keeps 139 and 5678)."""

REPORTER = {"name": NAME, "phone": PHONE}
LOCATION = {"building": "b1", "unit": UNIT, "detail": DETAIL}
LOG = "/v1/privacy/access-log"


async def _report(api: Api, **headers: str) -> Any:
    return await api.client.post(
        "/v1/work-orders",
        json={
            "project": "sunny",
            "kind": "repair",
            "category": "plumbing",
            "location": LOCATION,
            "reporter": REPORTER,
            "channel": "phone",
            "description": "卫生间漏水",
        },
        headers={**auth(Role.CUSTOMER_SERVICE), **headers},
    )


async def _rows(api: Api) -> dict[str, list[str]]:
    """Every stored row that carries the report, as text (bytes decoded as UTF-8)."""
    tables = {
        "events": t.events,
        "outbox": t.outbox,
        "work_orders": t.work_orders,
        "idempotency_keys": t.idempotency_keys,
        "resident_reports": t.resident_reports,
    }
    found: dict[str, list[str]] = {}
    async with api.dispatch.engine.connect() as conn:
        for name, table in tables.items():
            rows = (await conn.execute(select(table))).all()
            found[name] = [_text(row) for row in rows]
    return found


def _text(row: Any) -> str:
    values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row]
    return " ".join(values)


async def _entries(api: Api, subject: str) -> list[dict[str, Any]]:
    found = await api.client.get(
        LOG, params={"subject": subject}, headers=auth(Role.PRIVACY_OFFICER)
    )
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


async def test_no_store_row_holds_the_clear_name_phone_or_unit(api: Api) -> None:
    reported = await _report(api, **{"Idempotency-Key": "call-1"})
    assert reported.status_code == 201, reported.text

    rows = await _rows(api)

    assert all(rows[name] for name in ("events", "outbox", "work_orders", "idempotency_keys"))
    for name, texts in rows.items():
        for text in texts:
            assert not [v for v in SEEDED if v in text], (name, text)
    async with api.dispatch.engine.connect() as conn:
        reports = select(t.events).where(t.events.c.type_name == "workorder.reported")
        stored = (await conn.execute(reports)).one()
    event = parse(stored.type_name, stored.data)  # the published model reads it
    reporter, location = stored.data["reporter"], stored.data["location"]
    assert (reporter["name"], reporter["phone"]) == ("欧阳**", "139****5678")
    assert (location["unit"], location["building"]) == ("*-****", "b1")
    assert is_resident_reference(reporter["resident"])
    assert all(is_sealed(token) for token in [*reporter["sealed"].values()])
    assert set(location["sealed"]) == {"unit", "detail"}
    assert event.type_name == "workorder.reported"
    [index] = rows["resident_reports"]
    assert reporter["resident"] in index


async def test_an_idempotent_replay_answers_each_time_from_the_sealed_record(api: Api) -> None:
    first = await _report(api, **{"Idempotency-Key": "call-2"})
    again = await _report(api, **{"Idempotency-Key": "call-2"})

    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reporter"] == first.json()["reporter"]
    assert (again.json()["reporter"]["name"], again.json()["location"]["unit"]) == (NAME, UNIT)
    assert "sealed" not in again.json()["reporter"]
    # Each answer in clear (customer service took the call) is a logged view.
    logged = await _entries(api, "customer_service-1")
    assert [e["purpose"] for e in logged] == ["POST /v1/work-orders"] * 2


async def test_who_sees_the_clear_values_and_who_the_masks(api: Api) -> None:
    wid = (await _report(api)).json()["id"]
    for name, role, command, subject in (
        ("assign", Role.DISPATCHER, {"assignee": "tech-wang"}, None),
        ("hand-back", Role.TECHNICIAN, {"reason": "腰伤，无法登高"}, "tech-wang"),
        ("assign", Role.DISPATCHER, {"assignee": "tech-li"}, None),
    ):
        done = await api.command(wid, name, role, command, subject=subject)
        assert done.status_code == 200, (name, done.text)

    async def read(role: Role, subject: str | None = None) -> dict[str, Any]:
        response = await api.client.get(
            f"/v1/work-orders/{wid}", headers=auth(role, subject=subject)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "sealed" not in body["reporter"] and "sealed" not in body["location"]
        return body

    clear = {role: await read(role) for role in (Role.SUPERVISOR, Role.CUSTOMER_SERVICE)}
    assigned = await read(Role.TECHNICIAN, "tech-li")
    other = await read(Role.TECHNICIAN, "tech-wang")  # handed it back: no longer theirs
    manager = await read(Role.PROJECT_MANAGER)

    for body in (*clear.values(), assigned):
        assert (body["reporter"]["name"], body["reporter"]["phone"]) == (NAME, PHONE)
        assert (body["location"]["unit"], body["location"]["detail"]) == (UNIT, DETAIL)
    for body in (manager, other):
        assert (body["reporter"]["name"], body["reporter"]["phone"]) == ("欧阳**", "139****5678")
        assert body["location"]["unit"] == "*-****"
    reference = manager["reporter"]["resident"]
    assert {b["reporter"]["resident"] for b in (*clear.values(), assigned)} == {reference}
    for subject in ("supervisor-1", "customer_service-1", "tech-li"):
        reads = [e for e in await _entries(api, subject) if e["purpose"].startswith("GET")]
        assert [(e["resident"], e["work_order_id"]) for e in reads] == [(reference, wid)]
        assert reads[0]["fields"] == [
            "reporter.name",
            "reporter.phone",
            "location.unit",
            "location.detail",
        ]
    assert await _entries(api, "tech-wang") == []
    assert await _entries(api, "project_manager-1") == []


async def test_an_erased_residents_order_reads_erased_and_its_history_still_replays(
    api: Api,
) -> None:
    wid = (await _report(api)).json()["id"]
    before = await api.client.get(f"/v1/work-orders/{wid}", headers=auth(Role.SUPERVISOR))
    reference = before.json()["reporter"]["resident"]

    await api.dispatch.privacy.fields.erase("acme", reference)
    read = await api.client.get(f"/v1/work-orders/{wid}", headers=auth(Role.SUPERVISOR))
    history = await api.client.get(f"/v1/work-orders/{wid}/events", headers=auth(Role.SUPERVISOR))
    assigned = await api.command(wid, "assign", Role.DISPATCHER, {"assignee": "tech-li"})
    found = await api.client.get(
        "/v1/residents", params={"phone": PHONE}, headers=auth(Role.SUPERVISOR)
    )

    assert read.status_code == 200, read.text
    reporter, location = read.json()["reporter"], read.json()["location"]
    assert (reporter["name"], reporter["phone"], location["unit"]) == ("erased",) * 3
    assert reporter["resident"] == reference
    assert history.status_code == 200
    [data] = [e["data"] for e in history.json()["items"] if e["type"] == "workorder.reported.v1"]
    assert data["reporter"]["name"] == "erased" and "sealed" not in data["reporter"]
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "assigned"
    assert assigned.json()["reporter"]["phone"] == "erased"
    # Erased fields are no clear view: the reads after the erasure logged nothing shown.
    reads = [e for e in await _entries(api, "supervisor-1") if "work_order_id}" in e["purpose"]]
    assert len(reads) == 1 and not any(v in history.text for v in SEEDED)
    assert found.json()["items"][0]["name"] == "erased"
