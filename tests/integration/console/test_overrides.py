"""A supervisor overrides a second postponement in the console (不得两次推迟), with reasons."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from shared.auth import Role
from tests.integration.console.support import ConsoleStack, notes
from tests.integration.dispatch.api_support import auth

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_a_supervisor_overrides_a_second_postponement(stack: ConsoleStack) -> None:
    api, now = stack.api, stack.api.clock.now()
    order = await api.report()
    order_id = str(order["id"])
    label = str(order.get("number") or order_id[:8])
    steps = [
        ("assign", Role.DISPATCHER, {"assignee": "tech-wang"}),
        ("arrive", Role.TECHNICIAN, None),
        ("start-work", Role.TECHNICIAN, None),
        ("make-commitment", Role.TECHNICIAN, {"due_at": (now + timedelta(days=1)).isoformat()}),
        (
            "postpone",
            Role.TECHNICIAN,
            {"new_due_at": (now + timedelta(days=2)).isoformat(), "reason": "配件未到"},
        ),
    ]
    for name, role, body in steps:
        done = await api.command(order_id, name, role, body, subject="tech-wang")
        assert done.status_code == 200, f"{name}: {done.text}"
    # A second postponement by the technician is refused: it needs an override.
    again = await api.command(
        order_id,
        "postpone",
        Role.TECHNICIAN,
        {"new_due_at": (now + timedelta(days=3)).isoformat(), "reason": "还没到"},
        subject="tech-wang",
    )
    assert again.status_code == 409

    page = f"/dispatch/orders/{order_id}/postpone"
    async with stack.browser() as dispatcher:
        await dispatcher.sign_in("dev-dispatcher")
        assert (
            "override-postponement"
            not in (await dispatcher.page(f"/dispatch/orders/{order_id}")).text
        )
        assert (await dispatcher.page(page)).status_code == 403

    new_due = (now + timedelta(days=3)).astimezone(SHANGHAI).replace(hour=18, minute=0)
    typed = new_due.strftime("%Y-%m-%dT%H:%M")
    async with stack.browser() as supervisor:
        await supervisor.sign_in("dev-supervisor")
        order_page = (await supervisor.page(f"/dispatch/orders/{order_id}")).text
        assert 'data-testid="override-postponement"' in order_page and "已推迟 1 次" in order_page
        confirm = await supervisor.page(page)
        assert 'type="datetime-local"' in confirm.text and "Asia/Shanghai" in confirm.text
        bare = await supervisor.submit(page, page, new_due_at=typed, note="供应商延期", override="")
        assert bare.status_code == 422 and "请填写：允许再次推迟的理由" in bare.text
        done = await supervisor.submit(
            page, page, new_due_at=typed, note="供应商延期", override="业户同意，主管批准"
        )
        assert done.status_code == 303, done.text
        assert notes((await supervisor.page("/dispatch")).text) == [f"{label} 已按您的特批推迟。"]
    read = await api.client.get(f"/v1/work-orders/{order_id}", headers=auth(Role.HQ_QUALITY))
    assert read.json()["postponements"] == 2
    assert read.json()["commitment_due_at"] == new_due.isoformat()
    history = await api.client.get(
        f"/v1/work-orders/{order_id}/events", headers=auth(Role.HQ_QUALITY)
    )
    granted = [
        e["data"] for e in history.json()["items"] if "postponement_override_granted" in e["type"]
    ]
    assert granted == [{"granted_by": "dev-supervisor", "reason": "业户同意，主管批准"}]
