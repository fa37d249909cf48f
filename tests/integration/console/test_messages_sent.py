"""What residents received: on a local stack, SMS without a provider is kept in notify's
development outbox, and customer service reads it in the console per order and per phone."""

from __future__ import annotations

import httpx

from services.dispatch.adapters.rows import SOURCE
from shared.auth import Role
from shared.envelope import Envelope
from shared.nats import connect, ensure_streams
from tests.integration.console.support import ConsoleStack
from tests.integration.console.test_console import CALL
from tests.integration.dispatch.api_support import auth
from tests.integration.notify.support import eventually
from wo.processes import NatsServer


async def relay(stack: ConsoleStack, nats_url: str, order_id: str) -> None:
    """Publish the order's events as dispatch's relay does (its relay is off in these
    tests): the store's events, the report sealed (masks, reference and tokens)."""
    stored = await stack.api.dispatch.store.load(order_id)
    bus = await connect(nats_url, name="console-test-relay")
    try:
        js = bus.jetstream()
        await ensure_streams(js)
        for event in stored:
            envelope = Envelope.from_recorded(event, SOURCE)
            await js.publish(
                envelope.nats_subject(),
                envelope.to_json(),
                headers={"Nats-Msg-Id": str(envelope.id)},
            )
    finally:
        await bus.drain()


async def test_customer_service_reads_what_the_resident_received(
    both: tuple[ConsoleStack, httpx.AsyncClient], nats_server: NatsServer
) -> None:
    stack, notify = both
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit("/calls", "/calls", **CALL)
        listed = await stack.api.client.get("/v1/work-orders", headers=auth(Role.HQ_QUALITY))
        order = listed.json()["items"][0]
        order_id = str(order["id"])
        for name, role, body in (
            ("assign", Role.DISPATCHER, {"assignee": "tech-wang"}),
            ("arrive", Role.TECHNICIAN, None),
            ("start-work", Role.TECHNICIAN, None),
            ("complete", Role.TECHNICIAN, {"summary": "换了三通阀"}),
        ):
            done = await stack.api.command(order_id, name, role, body, subject="tech-wang")
            assert done.status_code == 200, done.text
        await relay(stack, nats_server.url, order_id)

        async def kept() -> bool:
            answer = await notify.get(
                "/v1/dev-outbox",
                params={"work_order_id": order_id},
                headers=auth(Role.CUSTOMER_SERVICE),
            )
            events = {m["event_type"] for m in answer.json()["items"]}
            return {"workorder.reported", "workorder.completed"} <= events

        await eventually(kept, what="the resident's SMS in the development outbox")

        mine = (await cs.page("/calls/live")).text
        assert f'href="/calls/messages?order={order_id}"' in mine
        assert 'href="/calls/messages?phone=13800000000"' in mine
        page = await cs.page(f"/calls/messages?order={order_id}")
        assert page.status_code == 200
        label = str(order.get("number") or order_id[:8])
        assert f"发出的消息: {label}" in page.text
        items = [m.split("</li>")[0] for m in page.text.split('data-message="')[1:]]
        # The outbox keeps the phone masked: the clear number went to the send only.
        assert "13800000000" not in page.text.split('data-message="', 1)[1]
        resident = [m for m in items if "138****0000" in m]
        assert any('data-event="workorder.reported"' in m for m in resident)
        assert any('data-event="workorder.completed"' in m for m in resident)
        assert all("张*您好" in m and "短信" in m for m in resident)
        assert "13800000000" not in page.text.replace('phone=13800000000"', "")
        # The order's clear phone (customer service's own call) finds them by its mask.
        by_phone = await cs.page("/calls/messages?phone=13800000000")
        assert by_phone.text.count('data-message="') == len(resident)
        live = await cs.page(f"/calls/messages/live?order={order_id}")
        assert live.headers["x-console-fragment"] == "1" and "张*您好" in live.text
        assert (await cs.page("/calls/messages")).status_code == 403
