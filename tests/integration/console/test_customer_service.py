"""Customer service's steps in the console over a real dispatch: feedback, no visit needed,
the complaint ruling (supervisors), ownership transfer, and the follow-up visits owed."""

from __future__ import annotations

from typing import Any

from shared.auth import Role
from tests.integration.console.support import ConsoleStack, notes
from tests.integration.dispatch.api_support import auth

COMPLAINT = {
    "project": "sunny",
    "building": "b1",
    "unit": "1-101",
    "kind": "complaint",
    "category": "noise",
    "urgency": "normal",
    "channel": "phone",
    "description": "楼上装修噪音",
    "name": "张三",
    "phone": "13800000000",
}


async def read(stack: ConsoleStack, path: str) -> dict[str, Any]:
    response = await stack.api.client.get(path, headers=auth(Role.HQ_QUALITY))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def only_order(stack: ConsoleStack) -> dict[str, Any]:
    items = (await read(stack, "/v1/work-orders"))["items"]
    assert len(items) == 1
    order: dict[str, Any] = items[0]
    return order


def label_of(order: dict[str, Any]) -> str:
    return str(order.get("number") or str(order["id"])[:8])


async def test_feedback_no_visit_needed_ruling_and_transfer_of_a_complaint(
    stack: ConsoleStack,
) -> None:
    hired = await stack.api.client.put(
        "/v1/staff/cs-li",
        json={
            "name": "李客服",
            "role": "customer_service",
            "team": "maintenance",
            "projects": ["sunny"],
        },
        headers=auth(Role.HQ_QUALITY),
    )
    assert hired.status_code == 200, hired.text
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit("/calls", "/calls", **COMPLAINT)
        order = await only_order(stack)
        order_id, label = str(order["id"]), label_of(order)
        mine = (await cs.page("/calls/live")).text
        for step in ("give-feedback", "record-no-visit-needed", "transfer-owner"):
            assert f'href="/calls/orders/{order_id}/{step}"' in mine, step
        # Customer service does not rule on complaints: no button, and dispatch says no.
        assert "mark-complaint" not in mine

        # Feedback: words are required; then it is recorded and shown as a step.
        page = f"/calls/orders/{order_id}/give-feedback"
        confirm = await cs.page(page)
        assert "记录告知业户的内容吗？" in confirm.text and "楼上装修噪音" in confirm.text
        empty = await cs.submit(page, page, note="  ")
        assert empty.status_code == 422 and "请填写：告知业户的内容" in empty.text
        done = await cs.submit(page, page, note="已联系物业管家上门劝说")
        assert done.status_code == 303 and done.headers["location"] == "/calls"
        assert notes((await cs.page("/calls")).text) == [f"已记录 {label} 的反馈。"]

        page = f"/calls/orders/{order_id}/record-no-visit-needed"
        done = await cs.submit(page, page, note="电话沟通已解决")
        assert done.status_code == 303
        assert (await only_order(stack))["no_visit_needed_by"] == "dev-customer_service"
        live = (await cs.page("/calls/live")).text
        assert 'data-step="feedback_given"' in live and 'data-step="no_visit_needed"' in live
        assert f"/calls/orders/{order_id}/record-no-visit-needed" not in live

        refused = await cs.submit(
            f"/calls/orders/{order_id}/mark-complaint",
            f"/calls/orders/{order_id}/mark-complaint",
            valid="valid",
            note="确有噪音",
        )
        assert refused.status_code == 409 and "派单系统拒绝了操作" in refused.text

    async with stack.browser("en") as supervisor:
        await supervisor.sign_in("dev-supervisor")
        live = (await supervisor.page("/calls/live")).text
        complaints = live.split('data-testid="complaints"')[1]
        assert f'href="/calls/orders/{order_id}/mark-complaint"' in complaints
        page = f"/calls/orders/{order_id}/mark-complaint"
        unruled = await supervisor.submit(page, page, valid="maybe", note="noise confirmed")
        assert unruled.status_code == 422 and "Fill in: Ruling" in unruled.text
        ruled = await supervisor.submit(page, page, valid="valid", note="noise confirmed")
        assert ruled.status_code == 303
        assert (await only_order(stack))["complaint_valid"] is True
        after = await supervisor.page("/calls")
        assert notes(after.text) == [f"Complaint {label} ruled."]
        assert "Every complaint is ruled." in after.text
        # A supervisor reads the directory: the project's customer service, by name.
        transfer = await supervisor.page(f"/calls/orders/{order_id}/transfer-owner")
        assert '<option value="cs-li">李客服 (cs-li)</option>' in transfer.text

    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        page = f"/calls/orders/{order_id}/transfer-owner"
        confirm = await cs.page(page)
        # Customer service may not read the staff directory: the new owner's id is typed.
        assert '<input id="to_owner" name="to_owner"' in confirm.text
        moved = await cs.submit(page, page, to_owner="cs-li", note="交班")
        assert moved.status_code == 303
        assert (await only_order(stack))["owner"] == "cs-li"
        assert f'data-order="{order_id}"' not in (await cs.page("/calls/live")).text


async def test_the_follow_up_visits_owed_and_the_rating_form(stack: ConsoleStack) -> None:
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit(
            "/calls", "/calls", **{**COMPLAINT, "kind": "repair", "category": "plumbing"}
        )
    order = await only_order(stack)
    order_id, label = str(order["id"]), label_of(order)
    assert (
        await stack.api.command(order_id, "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    ).status_code == 200
    for name, body in (("arrive", None), ("start-work", None), ("complete", {"summary": "换阀"})):
        done = await stack.api.command(order_id, name, Role.TECHNICIAN, body, subject="tech-wang")
        assert done.status_code == 200, done.text

    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        # Completed: the follow-up is offered on the order, and listed as owed this month.
        assert f"/calls/orders/{order_id}/record-follow-up" in (await cs.page("/calls/live")).text
        owed = await cs.page("/follow-ups")
        assert owed.status_code == 200 and "阳光花园 · 2026-" in owed.text
        rows = owed.text.split('data-testid="owed"')[1]
        assert f'data-order="{order_id}"' in rows and label in rows
        owed_now = await read(stack, "/v1/follow-ups/owed?project=sunny")
        because = {"sampled": "抽中回访", "top_up": "为达到本月回访率所需"}
        assert [because[item["because"]] in rows for item in owed_now["owed"]] == [True]
        assert "已回访 0 次，需回访 1 次（本月完工维修 1 单）。" in owed.text

        page = f"/calls/orders/{order_id}/record-follow-up"
        unrated = await cs.submit(page, page, rating="", note="很满意")
        assert unrated.status_code == 422 and "请填写：评分" in unrated.text
        # What was typed stays.
        assert "很满意" in unrated.text
        rated = await cs.submit(page, page, rating="5", note="很满意")
        assert rated.status_code == 303 and rated.headers["location"] == "/follow-ups"
        after = await cs.page("/follow-ups")
        assert notes(after.text) == [f"已记录 {label} 的回访。"]
        assert f'data-order="{order_id}"' not in after.text
        assert "已回访 1 次，需回访 1 次" in after.text
    assert (await only_order(stack))["last_rating"] == 5
    history = await read(stack, f"/v1/work-orders/{order_id}/events")
    recorded = [e["data"] for e in history["items"] if "follow_up_recorded" in e["type"]]
    assert [(d["rating"], d["comment"]) for d in recorded] == [(5, "很满意")]
