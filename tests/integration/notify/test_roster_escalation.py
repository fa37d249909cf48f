"""End to end: dispatch's SLA scheduler escalates a breach to the supervisor the roster has
on duty, and half an hour later to the project's managers in the staff directory, and
notify delivers each to those people rather than to the configured contacts."""

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


PEOPLE = ("sup-day", "sup-night", "sup-listed", "pm-zhou", "pm-river", "pm-listed")


def config(hooks: str) -> NotifyConfig:
    """Everyone reachable by webhook; the contact list names other people for the roles."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={
                    name: webhook_contact(name, f"{hooks}/{name}", SECRET) for name in PEOPLE
                },
                roles={"supervisor": ("sup-listed",), "project_manager": ("pm-listed",)},
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


def escalations_by_role(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The data of each `sla_escalated` event by the role it went to (one step each here)."""
    return {
        e["data"]["to_role"]: e["data"] for e in events if e["type"] == "workorder.sla_escalated.v1"
    }


async def deliver(
    harness: Harness, hooks_url: str, events: list[dict[str, Any]], expected: int
) -> None:
    """Start notify, hand it dispatch's events and wait for `expected` escalations sent."""
    await harness.start(config(hooks_url))
    for item in events:
        await harness.publish(Envelope.model_validate(item))

    async def escalations_sent() -> bool:
        rows = await harness.deliveries(template="sla_escalated", status="sent")
        return len(rows) == expected

    await eventually(escalations_sent, what=f"{expected} escalations delivered")


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
        by_role = escalations_by_role(events)
        assert by_role["supervisor"]["to_people"] == ["sup-day"]
        assert by_role["supervisor"]["to_people_source"] == "on_duty_supervisor"
        # The assignee step names the order's own people: not the roster's business.
        assert by_role["assignee"]["to_people"] == []
        assert by_role["assignee"]["to_people_source"] is None

        await deliver(harness, hooks.url, events, expected=1)
        # (The assignee step of an unassigned order reached nobody: recorded `unreached`.)
        rows = await harness.deliveries(template="sla_escalated", status="sent")
        assert [(r["recipient"], r["channel"]) for r in rows] == [("person:sup-day", "webhook")], (
            dump(rows)
        )
        # The fallback contact and the supervisor off shift heard nothing.
        assert [r.path for r in hooks.requests] == ["/sup-day"]


async def breach_and_wait_half_an_hour(api: Api) -> list[dict[str, Any]]:
    """Report an order nobody comes for: the ladder's breach step, then breach+30m's."""
    order = await api.report()
    assert api.dispatch.scheduler is not None
    api.clock.advance(timedelta(minutes=4))
    await api.dispatch.scheduler.fire_due()
    api.clock.advance(timedelta(minutes=31))
    await api.dispatch.scheduler.fire_due()
    return await dispatch_events(api, order["id"])


async def test_half_an_hour_after_a_breach_the_projects_managers_in_the_directory_hear_of_it(
    harness: Harness, tmp_path: Path
) -> None:
    dispatch_db = f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}"
    async with running_api(dispatch_db) as api, http_receiver() as hooks:
        await hire(api, "sup-day", role="supervisor")
        # Managers work no shifts; one who never set an availability (`off`) is still told
        # when no other manager of the project is reachable.
        await hire(api, "pm-zhou", role="project_manager", trades=(), on_duty=False)
        await hire(api, "pm-river", role="project_manager", trades=(), projects=("river",))

        events = await breach_and_wait_half_an_hour(api)

        by_role = escalations_by_role(events)
        assert by_role["project_manager"]["trigger"] == "breach+30m"
        assert by_role["project_manager"]["to_people"] == ["pm-zhou"]
        assert by_role["project_manager"]["to_people_source"] == "project_managers"
        # Project managers are never offered the order, nor do they stand in for supervisors.
        assert by_role["supervisor"]["to_people"] == ["sup-day"]
        assert all(e["type"] != "workorder.offered.v1" for e in events)

        await deliver(harness, hooks.url, events, expected=2)
        # (The assignee step of an unassigned order reached nobody: recorded `unreached`.)
        rows = await harness.deliveries(template="sla_escalated", status="sent")
        assert sorted(r["recipient"] for r in rows) == ["person:pm-zhou", "person:sup-day"], dump(
            rows
        )
        # The contact list's manager and the other project's manager heard nothing.
        assert sorted(r.path for r in hooks.requests) == ["/pm-zhou", "/sup-day"]


async def test_without_project_managers_in_the_directory_the_contact_list_is_used(
    harness: Harness, tmp_path: Path
) -> None:
    dispatch_db = f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}"
    async with running_api(dispatch_db) as api, http_receiver() as hooks:
        await hire(api, "sup-day", role="supervisor")
        await hire(api, "pm-river", role="project_manager", trades=(), projects=("river",))

        events = await breach_and_wait_half_an_hour(api)

        managers = escalations_by_role(events)["project_manager"]
        assert (managers["to_people"], managers["to_people_source"]) == ([], "none")

        await deliver(harness, hooks.url, events, expected=2)
        assert sorted(r.path for r in hooks.requests) == ["/pm-listed", "/sup-day"]
