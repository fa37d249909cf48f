"""Staff, rules and rosters for the assignment tests, set up through the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from services.dispatch.adapters.sla_scheduler import SlaScheduler
from services.dispatch.entrypoints.app import create_app
from services.dispatch.settings import DispatchSettings
from shared.auth import Role
from shared.clock import ManualClock
from tests.integration.dispatch.api_support import NOW, Api, auth
from tests.openapi_support import keep_to_document

MANAGER = auth(Role.PROJECT_MANAGER)


async def hire(
    api: Api,
    staff_id: str,
    *,
    trades: tuple[str, ...] = ("plumbing",),
    role: str = "technician",
    projects: tuple[str, ...] = ("sunny",),
    on_duty: bool = True,
    **record: Any,
) -> None:
    """Put a staff member in the directory (and their team, if new) and, by default, on duty
    (set by themselves)."""
    body = {
        "name": staff_id,
        "role": role,
        "team": "maintenance",
        "trades": list(trades),
        "projects": list(projects),
        **record,
    }
    await form_team(api, body["team"])
    response = await api.client.put(f"/v1/staff/{staff_id}", json=body, headers=MANAGER)
    assert response.status_code == 200, response.text
    if on_duty:
        own = auth(Role.TECHNICIAN if role == "technician" else Role.SUPERVISOR, subject=staff_id)
        response = await api.client.put(
            f"/v1/staff/{staff_id}/availability", json={"availability": "on_duty"}, headers=own
        )
        assert response.status_code == 200, response.text


async def form_team(api: Api, team_id: str, **record: Any) -> dict[str, Any]:
    """Create team `team_id` in projects sunny and river unless it exists."""
    found = await api.client.get(f"/v1/teams/{team_id}", headers=MANAGER)
    if found.status_code == 200 and not record:
        body: dict[str, Any] = found.json()
        return body
    team = {"name": team_id, "projects": ["sunny", "river"], **record}
    response = await api.client.put(f"/v1/teams/{team_id}", json=team, headers=MANAGER)
    assert response.status_code == 200, response.text
    body = response.json()
    return body


async def set_rule(api: Api, mode: str, category: str = "plumbing", **rule: Any) -> None:
    """Dispatch `category` of project sunny in `mode` (trade plumbing unless given)."""
    body = {"mode": mode, "trade": "plumbing", **rule}
    response = await api.client.put(
        f"/v1/projects/sunny/dispatch-rules/{category}", json=body, headers=MANAGER
    )
    assert response.status_code == 200, response.text


async def events_of(api: Api, work_order_id: str, with_sla: bool = False) -> list[dict[str, Any]]:
    """The work order's events (envelopes), oldest first, SLA events left out unless asked."""
    response = await api.client.get(
        f"/v1/work-orders/{work_order_id}/events", headers=auth(Role.SUPERVISOR)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return [e for e in items if with_sla or ".sla_" not in e["type"]]


def types(events: list[dict[str, Any]]) -> list[str]:
    """The unversioned types, e.g. `workorder.offered`."""
    return [e["type"].rsplit(".", 1)[0] for e in events]


def scheduler_of(api: Api) -> SlaScheduler:
    """A timer scheduler of the running app, driven by hand with the test's clock."""
    d = api.dispatch
    return SlaScheduler(d.engine, d.store, d.sla_policies, api.clock, staff=d.staff)


async def accept(client: httpx.AsyncClient, work_order_id: str, technician: str) -> httpx.Response:
    """`technician` accepts their offer of the work order."""
    return await client.post(
        f"/v1/work-orders/{work_order_id}/accept-offer",
        headers=auth(Role.TECHNICIAN, subject=technician),
    )


@asynccontextmanager
async def second_process(database_url: str) -> AsyncIterator[Api]:
    """Another dispatch on the same database: its own engine, writer, scheduler and clock."""
    clock = ManualClock(NOW)
    config = DispatchSettings(
        environment="development",
        database_url=database_url,
        relay_enabled=False,
        sla_scheduler_enabled=False,
    )
    app = create_app(config, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        keeper, hooks = keep_to_document(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://dispatch-b", event_hooks=hooks
        ) as client:
            yield Api(client, app.state.dispatch, clock, keeper=keeper)
