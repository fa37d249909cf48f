"""An in-process reporting app on a real database and nats-server, and tokens per role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import uvicorn

from services.reporting.entrypoints.app import create_app
from services.reporting.entrypoints.bootstrap import Reporting
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.clock import ManualClock
from tests.integration.reporting.conftest import wait_for_checkpoint
from tests.openapi_support import DocumentKeeper, keep_to_document
from tests.unit.reporting.histories import TENANT
from wo.processes import free_port
from wo.token import mint_dev_token


def auth(role: Role, projects: list[str] | None = None) -> dict[str, str]:
    """Authorization header for `role` in the test tenant (default: every project)."""
    token = mint_dev_token(
        role=role, tenant=TENANT, projects=projects or ["*"], subject=f"{role.value}-1"
    )
    return {"Authorization": f"Bearer {token}"}


HQ = auth(Role.HQ_QUALITY)


async def caught_up(reporting: Reporting, sequence: int) -> None:
    """Wait until the projector has committed EVENTS up to `sequence` and the KPI publisher
    has published what those commits changed (so the KPI stream holds the final figures)."""
    await wait_for_checkpoint(reporting.store, reporting.settings.consumer_durable, sequence)
    publisher = reporting.publisher
    quiet = 0
    for _ in range(600):
        # Twice in a row: the projector marks projects just after its commit.
        quiet = quiet + 1 if publisher is None or publisher.idle else 0
        if quiet >= 2:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the KPI publisher did not finish publishing")


@dataclass
class ReportingApi:
    """A client of a running in-process reporting, with its parts."""

    client: httpx.AsyncClient
    reporting: Reporting
    clock: ManualClock
    keeper: DocumentKeeper | None = None
    """What the answers were held to: the app's OpenAPI document."""

    async def caught_up(self, sequence: int) -> None:
        """Wait until the projector has committed EVENTS up to `sequence`."""
        await caught_up(self.reporting, sequence)

    async def kpis(self, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
        """GET /v1/kpis; the figures by KPI name."""
        response = await self.client.get("/v1/kpis", params=params, headers=headers or HQ)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        body["by_name"] = {k["kpi"]: k for k in body["kpis"]}
        return body


@asynccontextmanager
async def running_reporting(
    database_url: str, nats_url: str, now: datetime, **settings: Any
) -> AsyncIterator[ReportingApi]:
    """Start reporting in-process (lifespan included) with a manual clock at `now`."""
    clock = ManualClock(now)
    config = ReportingSettings(
        environment="development", database_url=database_url, nats_url=nats_url, **settings
    )
    app = create_app(config, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # Every answer a test provokes is held to the OpenAPI document.
        keeper, hooks = keep_to_document(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://reporting", event_hooks=hooks
        ) as client:
            yield ReportingApi(client, app.state.reporting, clock, keeper)


@dataclass
class ServedReporting:
    """reporting served by uvicorn on a loopback port (for SSE and the browser)."""

    url: str
    reporting: Reporting
    clock: ManualClock


@asynccontextmanager
async def served_reporting(
    database_url: str, nats_url: str, now: datetime, **settings: Any
) -> AsyncIterator[ServedReporting]:
    """Serve reporting over real HTTP in this event loop until the block ends."""
    clock = ManualClock(now)
    config = ReportingSettings(
        environment="development", database_url=database_url, nats_url=nats_url, **settings
    )
    app = create_app(config, clock)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.025)
        assert server.started, "uvicorn did not start"
        yield ServedReporting(f"http://127.0.0.1:{port}", app.state.reporting, clock)
    finally:
        server.should_exit = True
        await task
