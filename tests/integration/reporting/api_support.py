"""An in-process reporting app on a real database and nats-server, and tokens per role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from services.reporting.entrypoints.app import create_app
from services.reporting.entrypoints.bootstrap import Reporting
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.clock import ManualClock
from tests.unit.reporting.histories import TENANT
from wo.token import mint_dev_token


def auth(role: Role, projects: list[str] | None = None) -> dict[str, str]:
    """Authorization header for `role` in the test tenant (default: every project)."""
    token = mint_dev_token(
        role=role, tenant=TENANT, projects=projects or ["*"], subject=f"{role.value}-1"
    )
    return {"Authorization": f"Bearer {token}"}


HQ = auth(Role.HQ_QUALITY)


@dataclass
class ReportingApi:
    """A client of a running in-process reporting, with its parts."""

    client: httpx.AsyncClient
    reporting: Reporting
    clock: ManualClock

    async def caught_up(self, sequence: int, seconds: float = 30.0) -> None:
        """Wait until the projector has committed EVENTS up to `sequence`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        durable = self.reporting.settings.consumer_durable
        while loop.time() < deadline:
            checkpoint = await self.reporting.store.checkpoint(durable)
            if checkpoint is not None and checkpoint.stream_sequence >= sequence:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the projector did not reach {sequence}")

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
    config = ReportingSettings(database_url=database_url, nats_url=nats_url, **settings)
    app = create_app(config, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
            yield ReportingApi(client, app.state.reporting, clock)
