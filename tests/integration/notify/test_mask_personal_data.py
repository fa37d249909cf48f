"""`wo notify mask-personal-data` on a notify database written before notify kept masks
only (issue 17: "the migration of a store written by today's code"), on SQLite and
PostgreSQL.

The rows are those notify wrote before: the facts folded from a clear report, an SMS to a
resident known by phone (`resident:phone:<phone>`) and one to a resident's inbox, the
owner's message naming the unit, the dev outbox's copy of the SMS, the inbox message,
the notification events in its outbox and a dead letter holding the clear report. After
the migration none holds a seeded name, phone or unit; a resident reference is kept;
a run stopped after its first batch is finished by the next; a further run changes
nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import insert, select
from typer.testing import CliRunner

from services.notify.adapters import tables as t
from services.notify.adapters.migrate import upgrade
from services.notify.adapters.stored_before_masking import Masked, mask_stored_personal_data
from services.notify.entrypoints.cli import notify_app
from shared.database import create_engine
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM
from tests.stored_rows import holding, on_database, rows_as_text
from wo.processes import NatsServer

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ORDERS: dict[str, dict[str, str | None]] = {
    "wo-a": {"name": "欧阳娜娜", "phone": "13912345678", "unit": "7-2304", "login": None},
    "wo-b": {"name": "李建国", "phone": "13698765432", "unit": "3-1102", "login": "res-li"},
}
REFERENCE = "rsd_bbbbbbbbbbbbbbbbbbbbbbbb"
SEEDED = (
    "欧阳娜娜",
    "13912345678",
    "2345678",
    "7-2304",
    "李建国",
    "13698765432",
    "8765432",
    "3-1102",
)


class _Crash(Exception):
    pass


def _facts(order: dict[str, Any], reference: str | None) -> dict[str, Any]:
    facts = {
        "kind": "repair",
        "category": "plumbing",
        "urgency": "normal",
        "description": "漏水",
        "building": "b1",
        "unit": order["unit"],
        "resident_name": order["name"],
        "resident_phone": order["phone"],
        "resident_id": order["login"],
        "owner": "cs-li",
    }
    if reference is not None:
        facts["resident"] = reference
    return facts


def _delivery(work_order_id: str | None, order: dict[str, Any], **values: Any) -> dict[str, Any]:
    delivery_id = str(uuid.uuid4())
    row = {
        "id": delivery_id,
        "event_id": str(uuid.uuid4()),
        "event_type": "workorder.reported",
        "work_order_id": work_order_id,
        "correlation_id": "corr",
        "tenant": "acme",
        "project": "sunny",
        "template": "reported_resident",
        "language": "zh-CN",
        "subject": "您的报修已受理",
        "body_text": f"{order['name']}您好，{order['unit']}的报修已受理。",
        "body_html": f"<p>{order['name']}您好，{order['unit']}的报修已受理。</p>",
        "urgent": False,
        "alert": False,
        "status": "sent",
        "attempts": 1,
        "created_at": T0,
        "sent_at": T0,
        "item_count": 0,
        "event_count": 1,
        "digest_id": None,  # an insert of many rows takes its columns from the first
    }
    row.update(values)
    row["dedup_key"] = f"{row['event_id']}|{row['recipient']}|{row['channel']}"
    return row


def _envelope(data: dict[str, Any], type_name: str, subject: str = "wo-a") -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/notify",
            "type": f"{type_name}.v1",
            "subject": subject,
            "time": "2026-03-02T02:00:00Z",
            "data": data,
            "tenant": "acme",
            "project": "sunny",
            "sequence": 1,
            "correlationid": "corr",
            "actor": "notify",
        }
    )


async def _old_rows(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    a, b = ORDERS["wo-a"], ORDERS["wo-b"]
    sms = _delivery(
        "wo-a",
        a,
        recipient=f"resident:phone:{a['phone']}",
        recipient_name=a["name"],
        audience="resident",
        channel="sms",
        address=a["phone"],
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(t.work_orders),
                [
                    {
                        "id": "wo-a",
                        "tenant": "acme",
                        "project": "sunny",
                        "version": 1,
                        "facts": _facts(a, None),
                    },
                    {
                        "id": "wo-b",
                        "tenant": "acme",
                        "project": "sunny",
                        "version": 1,
                        "facts": _facts(b, "rsd_aaaaaaaaaaaaaaaaaaaaaaaa"),
                    },
                ],
            )
            await conn.execute(
                insert(t.deliveries),
                [
                    sms,
                    _delivery(
                        "wo-b",
                        b,
                        recipient="resident:res-li",
                        recipient_name=b["name"],
                        audience="resident",
                        channel="inbox",
                        address="res-li",
                    ),
                    _delivery(
                        None,
                        a,
                        recipient="person:cs-li",
                        recipient_name="李客服",
                        audience="staff",
                        channel="email",
                        address="li@example.com",
                        template="digest",
                        event_type="digest",
                        item_count=1,
                        id="digest-1",
                        subject="今日汇总（1 条）",
                        body_text=f"新工单：b1 {a['unit']}，报修人{a['name']}",
                        body_html=f"<li>新工单：b1 {a['unit']}，报修人{a['name']}</li>",
                    ),
                    _delivery(
                        "wo-a",
                        a,
                        digest_id="digest-1",
                        recipient="person:cs-li",
                        recipient_name="李客服",
                        audience="staff",
                        channel="email",
                        address="li@example.com",
                        template="reported_owner",
                        subject=f"新工单：b1 {a['unit']}，报修人{a['name']} {a['phone']}",
                    ),
                ],
            )
            await conn.execute(
                insert(t.inbox),
                {
                    "delivery_id": str(uuid.uuid4()),
                    "tenant": "acme",
                    "project": "sunny",
                    "person": "res-li",
                    "subject": "您的报修已受理",
                    "body_text": f"{b['name']}您好，{b['unit']}的报修已受理。",
                    "work_order_id": "wo-b",
                    "created_at": T0,
                },
            )
            await conn.execute(
                insert(t.dev_outbox),
                {
                    "delivery_id": sms["id"],
                    "tenant": "acme",
                    "project": "sunny",
                    "channel": "sms",
                    "recipient": sms["recipient"],
                    "recipient_name": a["name"],
                    "address": a["phone"],
                    "subject": sms["subject"],
                    "body_text": sms["body_text"],
                    "event_type": "workorder.reported",
                    "work_order_id": "wo-a",
                    "created_at": T0,
                },
            )
            await conn.execute(
                insert(t.outbox),
                {
                    "subject": "events.acme.sunny.notification.sent",
                    "msg_id": str(uuid.uuid4()),
                    "body": _envelope(
                        {"delivery_id": sms["id"], "recipient": sms["recipient"], "channel": "sms"},
                        "notification.sent",
                    ),
                    "created_at": T0,
                },
            )
            report = {
                "reporter": {"name": a["name"], "phone": a["phone"], "resident_id": None},
                "location": {"building": "b1", "unit": a["unit"], "detail": "2号卫生间"},
                "description": "漏水",
            }
            await conn.execute(
                insert(t.dead_letters),
                {
                    "kind": "event",
                    "letter_key": "event:x",
                    "tenant": "acme",
                    "project": "sunny",
                    "subject": "events.acme.sunny.workorder.reported",
                    "data": _envelope(report, "workorder.reported"),
                    "error": "boom",
                    "attempts": 3,
                    "created_at": T0,
                },
            )
    finally:
        await engine.dispose()


async def _texts(url: str) -> dict[str, list[str]]:
    return await rows_as_text(url, t.metadata)


def _clear(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return holding(found, SEEDED)


async def _mask(url: str, **kw: Any) -> Masked:
    return await on_database(url, lambda e: mask_stored_personal_data(e, batch_size=1, **kw))


async def test_notifys_rows_written_before_masking_are_masked_once(database_url: str) -> None:
    await _old_rows(database_url)
    before = await _texts(database_url)
    assert set(_clear(before)) == {
        "notify_work_orders",
        "deliveries",
        "inbox_messages",
        "notify_dev_outbox",
        "notify_outbox",
        "dead_letters",
    }

    dry = await _mask(database_url, dry_run=True)
    assert dry.facts == 2 and dry.deliveries == 4
    assert await _texts(database_url) == before

    def crash(done: Masked) -> None:
        if done.facts:  # after the first batch of work orders committed
            raise _Crash

    with pytest.raises(_Crash):
        await _mask(database_url, on_batch=crash)
    assert _clear(await _texts(database_url))

    done = await _mask(database_url)

    assert done.facts == 1  # the crashed run's batch is not counted twice
    after = await _texts(database_url)
    assert _clear(after) == {}
    found = await _rows_of(database_url)
    facts, rows = found["facts"], found["deliveries"]
    assert (facts["wo-a"]["resident_name"], facts["wo-a"]["resident_phone"]) == (
        "欧阳**",
        "139****5678",
    )
    assert facts["wo-b"]["resident"] == "rsd_aaaaaaaaaaaaaaaaaaaaaaaa"
    assert facts["wo-b"]["unit"] == "*-****"
    sms = next(r for r in rows if r["channel"] == "sms")
    assert (sms["recipient"], sms["address"]) == ("resident:phone:139****5678", "139****5678")
    assert sms["dedup_key"].endswith("|resident:phone:139****5678|sms")
    assert sms["body_text"] == "欧阳**您好，*-****的报修已受理。"
    inbox = next(r for r in rows if r["channel"] == "inbox")
    assert inbox["address"] == "res-li"  # the inbox's login id is no contact detail

    assert await _mask(database_url) == Masked()
    assert await _texts(database_url) == after


async def _old_stream(nats_url: str) -> list[bytes]:
    """notify's events as it published them: a resident's SMS delivery named by phone
    (deferred, then sent), and a staff member's."""
    nc = await connect(nats_url, "test-old-notify-events")
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        info = await js.stream_info(EVENTS_STREAM)
        await js.update_stream(replace(info.config, duplicate_window=1.0))
        # wo-a's report as `wo dispatch seal-personal-data` left it: sealed, naming its
        # resident by reference.
        sealed = {"reporter": {"name": "欧阳**", "phone": "139****5678", "resident": REFERENCE}}
        await js.publish(
            "events.acme.sunny.workorder.reported", _envelope(sealed, "workorder.reported")
        )
        bodies = []
        for delivery, recipient, kind in (
            ("d-1", "resident:phone:13912345678", "notification.deferred"),
            ("d-2", "person:cs-li", "notification.sent"),
            ("d-1", "resident:phone:13912345678", "notification.sent"),
        ):
            data = {"delivery_id": delivery, "recipient": recipient, "channel": "sms"}
            body = _envelope(data, kind, f"notification:{delivery}")
            envelope = orjson.loads(body)
            await js.publish(
                f"events.acme.sunny.{kind}", body, headers={"Nats-Msg-Id": envelope["id"]}
            )
            bodies.append(body)
        return bodies
    finally:
        await nc.close()


async def _stream_bodies(nats_url: str) -> list[tuple[int, bytes]]:
    nc = await connect(nats_url, "test-notify-stream")
    try:
        js = nc.jetstream()
        state = (await js.stream_info(EVENTS_STREAM)).state
        found = []
        for seq in range(state.first_seq, state.last_seq + 1):
            try:
                found.append((seq, (await js.get_msg(EVENTS_STREAM, seq)).data or b""))
            except NotFoundError:
                continue
        return found
    finally:
        await nc.close()


async def _rows_of(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            facts = (await conn.execute(select(t.work_orders.c.id, t.work_orders.c.facts))).all()
            rows = (await conn.execute(select(t.deliveries))).mappings().all()
    finally:
        await engine.dispose()
    return {"facts": {r.id: r.facts for r in facts}, "deliveries": [dict(r) for r in rows]}


def test_the_command_masks_the_rows_and_the_stream_once(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}"
    asyncio.run(_old_rows(url))
    old = asyncio.run(_old_stream(nats_server.url))
    command = ["mask-personal-data", "--database-url", url, "--nats-url", nats_server.url]

    result = CliRunner().invoke(notify_app, command)

    assert result.exit_code == 0, result.output
    assert "Masked 2 work orders' facts, 4 deliveries" in result.output
    assert "replaced the events of 1 deliveries on the stream (2 messages)" in result.output
    stream = asyncio.run(_stream_bodies(nats_server.url))
    assert not [body for _, body in stream if any(v.encode() in body for v in SEEDED)]
    # The staff member's event stays where it was; the resident's two come again, in
    # order, with their ids and the phone masked.
    assert stream[1] == (3, old[1])
    again = [orjson.loads(body) for _, body in stream[2:]]
    assert [e["id"] for e in again] == [orjson.loads(old[0])["id"], orjson.loads(old[2])["id"]]
    assert {e["data"]["recipient"] for e in again} == {"resident:phone:139****5678"}
    stored = b"".join(p.read_bytes() for p in Path(nats_server.store_dir).rglob("*") if p.is_file())
    assert b"13912345678" not in stored

    # The resident's sealed report named them: their facts and deliveries use it.
    rows = asyncio.run(_rows_of(url))
    assert rows["facts"]["wo-a"]["resident"] == REFERENCE
    sms = next(r for r in rows["deliveries"] if r["channel"] == "sms")
    assert sms["recipient"] == f"resident:{REFERENCE}"
    assert sms["dedup_key"].endswith(f"|resident:{REFERENCE}|sms")

    rerun = CliRunner().invoke(notify_app, command)
    assert rerun.exit_code == 0, rerun.output
    assert "Masked 0 work orders' facts, 0 deliveries" in rerun.output
    assert asyncio.run(_stream_bodies(nats_server.url)) == stream
