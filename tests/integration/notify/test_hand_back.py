"""End to end: 退单 and 转单. A technician gives assigned work back with a reason; dispatch
offers it to someone else (or queues it) in the same write, and the owner is told."""

from __future__ import annotations

from pathlib import Path

import httpx

from services.notify.domain.config import NotifyConfig, TenantConfig
from shared.auth import Role
from shared.envelope import Envelope
from tests.integration.dispatch.api_support import TENANT, Api, auth, running_api
from tests.integration.dispatch.assignment_support import (
    accept,
    events_of,
    hire,
    set_rule,
    types,
)
from tests.integration.notify.conftest import Harness, dump
from tests.integration.notify.support import eventually


async def give_back(
    api: Api, work_order_id: str, command: str, technician: str, reason: str
) -> httpx.Response:
    """`technician` hands the work back or asks for a transfer (`command`), with `reason`."""
    return await api.client.post(
        f"/v1/work-orders/{work_order_id}/{command}",
        json={"reason": reason},
        headers=auth(Role.TECHNICIAN, subject=technician),
    )


async def test_a_handed_back_order_is_offered_again_and_the_owner_is_told(
    harness: Harness, tmp_path: Path
) -> None:
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        await hire(api, "tech-a")
        await hire(api, "tech-b")
        await set_rule(api, "auto")
        order = await api.report()
        [offered] = [e for e in await events_of(api, order["id"]) if "offered" in e["type"]]
        first = offered["data"]["offers"][0]["technician"]
        second = "tech-b" if first == "tech-a" else "tech-a"
        assert (await accept(api.client, order["id"], first)).status_code == 200

        handed = await give_back(api, order["id"], "hand-back", first, "腰伤，无法登高")
        assert handed.status_code == 200, handed.text
        assert (handed.json()["status"], handed.json()["assignee"]) == ("reported", None)
        events = await events_of(api, order["id"])
        assert types(events)[-2:] == ["workorder.assignment_returned", "workorder.offered"]
        assert events[-2]["data"]["kind"] == "hand_back"
        assert [o["technician"] for o in events[-1]["data"]["offers"]] == [second]

        # The second asks for a transfer: nobody else is left, so the order is queued.
        assert (await accept(api.client, order["id"], second)).status_code == 200
        transfer = await give_back(
            api, order["id"], "request-transfer", second, "needs an electrician"
        )
        assert transfer.status_code == 200, transfer.text
        events = await events_of(api, order["id"])
        assert types(events)[-2:] == ["workorder.assignment_returned", "workorder.dispatch_pending"]
        assert events[-1]["data"]["reason"] == "nobody_eligible"
        refused = await give_back(api, order["id"], "hand-back", first, "not mine")
        assert refused.status_code == 403, refused.text
        published = await events_of(api, order["id"], with_sla=True)

    await harness.start(NotifyConfig(tenants={TENANT: TenantConfig()}))
    for item in published:
        await harness.publish(Envelope.model_validate(item))
    owner = "person:customer_service-1"

    async def owner_told() -> bool:
        rows = await harness.deliveries(
            recipient=owner, event_type="workorder.assignment_returned", status="sent"
        )
        return len(rows) == 2

    await eventually(owner_told, what="the owner told of both returns")
    rows = await harness.deliveries(recipient=owner, event_type="workorder.assignment_returned")
    assert all(r["template"] == "owner_update" for r in rows), dump(rows)
    # Both rows are written at the test clock's one instant: compare them in no order.
    texts = [r["body_text"] for r in rows]
    assert any("腰伤，无法登高" in text for text in texts), dump(rows)
    assert any("needs an electrician" in text for text in texts), dump(rows)
