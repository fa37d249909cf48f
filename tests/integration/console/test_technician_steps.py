"""The technician's other steps on a phone page over a real dispatch: pause with a reason and
resume, report progress, nobody home at the appointment (refused before it), hand back (退单)
and ask for a transfer (转单), each one tap and a confirmation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.auth import Role
from tests.integration.console.support import Browser, ConsoleStack, notes
from tests.integration.dispatch.api_support import auth


async def assigned_order(stack: ConsoleStack, **overrides: Any) -> tuple[str, str]:
    """A plumbing repair assigned to tech-wang: its id and label."""
    order = await stack.api.report(**overrides)
    done = await stack.api.command(
        order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"}
    )
    assert done.status_code == 200, done.text
    return str(order["id"]), str(order.get("number") or str(order["id"])[:8])


async def order_of(stack: ConsoleStack, order_id: str) -> dict[str, Any]:
    response = await stack.api.client.get(
        f"/v1/work-orders/{order_id}", headers=auth(Role.HQ_QUALITY)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def history(stack: ConsoleStack, order_id: str, step: str) -> list[dict[str, Any]]:
    response = await stack.api.client.get(
        f"/v1/work-orders/{order_id}/events", headers=auth(Role.HQ_QUALITY)
    )
    return [e["data"] for e in response.json()["items"] if f".{step}." in e["type"]]


async def tap(tech: Browser, order_id: str, action: str, **answers: str) -> Any:
    """The button on the phone page, then Confirm on its confirmation page."""
    board = (await tech.page("/tech")).text
    assert f'href="/tech/orders/{order_id}/{action}"' in board, action
    page = f"/tech/orders/{order_id}/{action}"
    return await tech.submit(page, page, **answers)


async def test_pause_with_a_reason_resume_and_report_progress(stack: ConsoleStack) -> None:
    order_id, label = await assigned_order(stack)
    for name in ("arrive", "start-work"):
        done = await stack.api.command(order_id, name, Role.TECHNICIAN, subject="tech-wang")
        assert done.status_code == 200, done.text
    async with stack.browser() as tech:
        await tech.sign_in("tech-wang")
        confirm = await tech.page(f"/tech/orders/{order_id}/pause")
        assert "暂停维修吗？" in confirm.text and "等待配件" in confirm.text
        bare = await tap(tech, order_id, "pause", reason="", note="")
        assert bare.status_code == 422 and "请填写：理由" in bare.text
        paused = await tap(tech, order_id, "pause", reason="waiting_for_parts", note="阀门缺货")
        assert paused.status_code == 303 and paused.headers["location"] == "/tech"
        assert notes((await tech.page("/tech")).text) == [f"{label} 已暂停维修。"]
        assert (await order_of(stack, order_id))["pause_reason"] == "waiting_for_parts"
        assert await history(stack, order_id, "paused") == [
            {"reason": "waiting_for_parts", "note": "阀门缺货"}
        ]
        # Paused: resume is the next step; progress can still be reported.
        progress = await tap(tech, order_id, "report-progress", note="配件明天到")
        assert progress.status_code == 303
        assert [d["note"] for d in await history(stack, order_id, "progress_reported")] == [
            "配件明天到"
        ]
        resumed = await tap(tech, order_id, "resume")
        assert resumed.status_code == 303
        assert (await order_of(stack, order_id))["status"] == "in_progress"


async def test_nobody_home_is_refused_before_the_appointment_and_recorded_after(
    stack: ConsoleStack,
) -> None:
    order_id, label = await assigned_order(stack)
    appointment = stack.api.clock.now() + timedelta(hours=2)
    booked = await stack.api.command(
        order_id,
        "schedule-appointment",
        Role.CUSTOMER_SERVICE,
        {"appointment_at": appointment.isoformat()},
    )
    assert booked.status_code == 200, booked.text
    async with stack.browser() as tech:
        await tech.sign_in("tech-wang")
        board = (await tech.page("/tech")).text
        assert "预约时间" in board
        early = await tap(tech, order_id, "miss-appointment", note="门上贴了通知")
        # dispatch refuses; the page says why in the technician's words, with the local time.
        assert early.status_code == 409
        shanghai = (appointment + timedelta(hours=8)).strftime("%H:%M")
        assert f"预约时间（{shanghai}）还没到" in early.text
        assert await history(stack, order_id, "appointment_missed") == []

        stack.api.clock.advance(timedelta(hours=2))
        missed = await tap(tech, order_id, "miss-appointment", note="门上贴了通知")
        assert missed.status_code == 303
        assert notes((await tech.page("/tech")).text) == [f"已记录 {label} 预约上门无人。"]
        assert [d["note"] for d in await history(stack, order_id, "appointment_missed")] == [
            "门上贴了通知"
        ]


async def test_hand_back_and_ask_for_a_transfer_need_a_reason(stack: ConsoleStack) -> None:
    first, first_label = await assigned_order(stack)
    second, _ = await assigned_order(stack, description="卫生间漏水")
    async with stack.browser("en") as tech:
        await tech.sign_in("tech-wang")
        bare = await tap(tech, first, "hand-back", note="")
        assert bare.status_code == 422 and "Fill in: Why" in bare.text
        back = await tap(tech, first, "hand-back", note="腰伤，无法登高")
        assert back.status_code == 303
        page = (await tech.page("/tech")).text
        assert notes(page) == [f"{first_label} handed back to dispatch."]
        assert f'data-order="{first}"' not in page
        transfer = await tap(tech, second, "request-transfer", note="needs an electrician")
        assert transfer.status_code == 303
    returned = await history(stack, first, "assignment_returned")
    assert [(d["kind"], d["reason"]) for d in returned] == [("hand_back", "腰伤，无法登高")]
    moved = await history(stack, second, "assignment_returned")
    assert [(d["kind"], d["reason"]) for d in moved] == [("transfer", "needs an electrician")]
    for order_id in (first, second):
        assert (await order_of(stack, order_id))["assignee"] is None
