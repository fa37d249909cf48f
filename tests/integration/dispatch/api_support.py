"""An in-process dispatch app on a real database, and tokens for every role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from services.dispatch.adapters import tables as t
from services.dispatch.entrypoints.app import create_app
from services.dispatch.entrypoints.bootstrap import Dispatch
from services.dispatch.settings import DispatchSettings
from shared.auth import Role
from shared.clock import ManualClock
from tests.openapi_support import DocumentKeeper, keep_to_document
from wo.token import mint_dev_token

TENANT = "acme"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


def token(
    role: Role, projects: list[str] | None = None, subject: str | None = None, tenant: str = TENANT
) -> str:
    """A development token for `role`, scoped to `projects` (default: every project)."""
    return mint_dev_token(
        role=role, tenant=tenant, projects=projects or ["*"], subject=subject or f"{role.value}-1"
    )


def auth(
    role: Role, projects: list[str] | None = None, subject: str | None = None
) -> dict[str, str]:
    """Authorization header for `role`."""
    return {"Authorization": f"Bearer {token(role, projects, subject)}"}


@dataclass
class Api:
    """A client of a running in-process dispatch, with its parts for inspection."""

    client: httpx.AsyncClient
    dispatch: Dispatch
    clock: ManualClock
    transport: httpx.AsyncBaseTransport | None = None
    """The in-process transport to dispatch's app, for another app calling it (the console)."""
    keeper: DocumentKeeper | None = None
    """What the answers were held to: the app's OpenAPI document."""

    async def event_count(self) -> int:
        """Rows in the event store (to prove refused requests wrote nothing)."""
        async with self.dispatch.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(t.events)) or 0)

    async def report(self, **overrides: Any) -> dict[str, Any]:
        """Report a repair as customer service; return the new work order."""
        body = report_body(**overrides)
        response = await self.client.post(
            "/v1/work-orders", json=body, headers=auth(Role.CUSTOMER_SERVICE)
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def command(
        self,
        work_order_id: str,
        name: str,
        role: Role,
        body: dict[str, Any] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """POST a command as `role` (subject `<role>-1`)."""
        headers = {**auth(role, subject=kw.pop("subject", None)), **kw.pop("headers", {})}
        return await self.client.post(
            f"/v1/work-orders/{work_order_id}/{name}", json=body, headers=headers
        )


SUNNY_GARDEN: dict[str, Any] = {
    "name": "阳光花园",
    "time_zone": "Asia/Shanghai",
    "households": 1200,
    "code": "SG",
    "buildings": [{"id": "b2", "name": "2号楼", "households": 600}],
}
"""Project `sunny` as a real compound registers it: its name, number code and a building."""


async def completed_repair(api: Api, **report: Any) -> str:
    """Report a repair (`report` overriding the body), assign it to tech-wang, who arrives,
    works and completes it."""
    wid = str((await api.report(**report))["id"])
    technician = {"subject": "tech-wang"}
    for name, role, body, kw in (
        ("assign", Role.DISPATCHER, {"assignee": "tech-wang"}, {}),
        ("arrive", Role.TECHNICIAN, None, technician),
        ("start-work", Role.TECHNICIAN, None, technician),
        ("complete", Role.TECHNICIAN, {"summary": "换了水管"}, technician),
    ):
        response = await api.command(wid, name, role, body, **kw)
        assert response.status_code == 200, (name, response.text)
    return wid


def report_body(**overrides: Any) -> dict[str, Any]:
    """A valid report of a leaking kitchen pipe in project `sunny`."""
    body: dict[str, Any] = {
        "project": "sunny",
        "kind": "repair",
        "category": "plumbing",
        "urgency": "normal",
        "location": {"building": "b1", "unit": "1-101"},
        "reporter": {"name": "张三", "phone": "13800000000"},
        "channel": "phone",
        "description": "厨房水管漏水",
    }
    body.update(overrides)
    return body


@asynccontextmanager
async def running_api(
    database_url: str, *, register_projects: bool = True, **settings: Any
) -> AsyncIterator[Api]:
    """Start dispatch in-process (lifespan included) with projects `sunny` and `river`
    (registered here unless `register_projects` is false: a database that has them)."""
    clock = ManualClock(NOW)
    # The relay is off unless a test gives it a bus (`relay_enabled=True, nats_url=...`).
    config = DispatchSettings(
        environment="development", database_url=database_url, **{"relay_enabled": False, **settings}
    )
    app = create_app(config, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # Every answer a test provokes is held to the OpenAPI document.
        keeper, hooks = keep_to_document(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://dispatch", event_hooks=hooks
        ) as client:
            api = Api(client, app.state.dispatch, clock, transport, keeper)
            projects = (("sunny", 1200), ("river", 800)) if register_projects else ()
            for project, households in projects:
                details = {
                    "name": project.title(),
                    "time_zone": "Asia/Shanghai",
                    "households": households,
                }
                response = await client.post(
                    "/v1/projects",
                    json={"project": project, "details": details},
                    headers=auth(Role.HQ_QUALITY),
                )
                assert response.status_code == 201, response.text
            yield api
