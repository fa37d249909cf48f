"""End to end: dispatch's SLA scheduler escalates a breach to the supervisor the roster has
on duty, and notify delivers it to that person rather than to the configured contacts."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.notify.domain.config import NotifyConfig, TenantConfig
from shared.auth import Role
from shared.envelope import Envelope
from tests.integration.dispatch.api_support import TENANT, Api, auth, running_api
from tests.integration.dispatch.assignment_support import MANAGER, form_team, hire
from tests.integration.notify.conftest import Harness, dump, webhook_contact
from tests.integration.notify.support import eventually, http_receiver

SECRET = "whsec_" + base64.b64encode(b"roster-escalation-secret-32bytes").decode()
DAY_SHIFT = {
    "name": "day",
    "team": "supervisors",
    "members": ["sup-day"],
    "calendar": {"kind": "daily", "windows": [["08:00", "20:00"]]},
}


def config(hooks: str) -> NotifyConfig:
    """Both supervisors reachable by webhook; the contact list names another one."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={
                    name: webhook_contact(name, f"{hooks}/{name}", SECRET)
                    for name in ("sup-day", "sup-night", "sup-listed")
                },
                roles={"supervisor": ("sup-listed",)},
            )
        }
    )


async def dispatch_events(api: Api, work_order_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/v1/work-orders/{work_order_id}/events", headers=auth(Role.SUPERVISOR)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_breach_escalation_reaches_the_supervisor_on_duty_by_the_roster(
    harness: Harness, tmp_path: Path
) -> None:
    dispatch_db = f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}"
    async with running_api(dispatch_db) as api, http_receiver() as hooks:
        await hire(api, "sup-day", role="supervisor")
        await hire(api, "sup-night", role="supervisor")
        await form_team(api, "supervisors")
        roster = {"shifts": [DAY_SHIFT], "on_call": ["hotline"]}
        put = await api.client.put("/v1/projects/sunny/roster", json=roster, headers=MANAGER)
        assert put.status_code == 200, put.text
        order = await api.report()

        # 10:04 in Shanghai: the three-minute arrival promise is broken, nobody came.
        api.clock.advance(timedelta(minutes=4))
        assert api.dispatch.scheduler is not None
        await api.dispatch.scheduler.fire_due()

        events = await dispatch_events(api, order["id"])
        escalations = [e for e in events if e["type"] == "workorder.sla_escalated.v1"]
        by_role = {e["data"]["to_role"]: e["data"] for e in escalations}
        assert by_role["supervisor"]["to_people"] == ["sup-day"]
        assert by_role["supervisor"]["to_people_source"] == "on_duty_supervisor"
        # The assignee step names the order's own people: not the roster's business.
        assert by_role["assignee"]["to_people"] == []
        assert by_role["assignee"]["to_people_source"] is None

        await harness.start(config(hooks.url))
        for item in events:
            await harness.publish(Envelope.model_validate(item))

        async def escalation_sent() -> bool:
            rows = await harness.deliveries(template="sla_escalated", status="sent")
            return len(rows) == 1

        await eventually(escalation_sent, what="the escalation delivered")
        rows = await harness.deliveries(template="sla_escalated")
        assert [(r["recipient"], r["channel"]) for r in rows] == [("person:sup-day", "webhook")], (
            dump(rows)
        )
        # The fallback contact and the supervisor off shift heard nothing.
        assert [r.path for r in hooks.requests] == ["/sup-day"]
