"""KPI changes go to `kpi.<tenant>.<project>.<kpi>` and out over server-sent events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from nats.js.api import DeliverPolicy

from services.reporting.domain.kpis import KPIS
from services.reporting.entrypoints.bootstrap import Reporting
from shared.auth import Role
from tests.integration.reporting.api_support import HQ, auth, caught_up, served_reporting
from tests.integration.reporting.conftest import Bus
from tests.integration.reporting.scripted_week import NOW, one_more_rating, week
from wo.processes import NatsServer


async def _both_projects_published(reporting: Reporting) -> None:
    # The publisher's first round follows the projector's commit; wait for both projects.
    for _ in range(400):
        if reporting.publisher is not None and reporting.publisher.published >= 2 * len(KPIS):
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the KPI publisher did not publish both projects' figures")


async def _next_figure(sub: Any, kpi: str) -> dict[str, Any]:
    while True:
        message = await sub.next_msg(timeout=20)
        body: dict[str, Any] = orjson.loads(message.data)
        if body["kpi"] == kpi:
            return body


async def test_a_kpi_change_is_published_with_the_live_month_to_date_figure(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    async with served_reporting(database_url, nats_server.url, NOW) as served:
        events, ids = week()
        await caught_up(served.reporting, await bus.publish(events))
        sub = await bus.js.subscribe(
            "kpi.acme.sunny.satisfaction",
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        )
        # September to date in sunny: R0's 5, R1's 5 and C1's 3.
        first = await _next_figure(sub, "satisfaction")
        assert (first["numerator"], first["denominator"]) == (2, 3)
        assert first["period"] == {"from": "2026-09-01", "to": "2026-09-28"}
        assert first["target"] == 0.98 and first["meets_target"] is False
        await bus.publish([one_more_rating(events, ids["S1"], 5)])
        changed = await _next_figure(sub, "satisfaction")
        assert (changed["numerator"], changed["denominator"]) == (3, 4)


async def test_the_sse_stream_sends_current_figures_then_changes(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    async with served_reporting(database_url, nats_server.url, NOW) as served:
        events, ids = week()
        await caught_up(served.reporting, await bus.publish(events))
        await _both_projects_published(served.reporting)
        async with (
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
            client.stream(
                "GET", "/v1/kpis/stream", params={"project": "river"}, headers=HQ
            ) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            seen: dict[str, dict[str, Any]] = {}
            lines = response.aiter_lines()

            async def until(predicate: Any) -> None:
                async for line in lines:
                    if line.startswith("data: "):
                        body = orjson.loads(line[6:])
                        assert body["project"] == "river"
                        seen[body["kpi"]] = body
                        if predicate():
                            return

            await asyncio.wait_for(until(lambda: "satisfaction" in seen), 20)
            assert (seen["satisfaction"]["numerator"], seen["satisfaction"]["denominator"]) == (
                1,
                1,
            )
            # R4 visited again and re-rated 2: its last rating counts, not its 4.
            await bus.publish([one_more_rating(events, ids["R4"], 2)])
            await asyncio.wait_for(until(lambda: seen["satisfaction"]["numerator"] == 0), 20)
            assert seen["satisfaction"]["denominator"] == 1


async def test_a_project_manager_streams_only_their_projects_figures(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    async with served_reporting(database_url, nats_server.url, NOW) as served:
        events, _ = week()
        await caught_up(served.reporting, await bus.publish(events))
        await _both_projects_published(served.reporting)
        projects: list[str] = []
        kpis: set[str] = set()
        async with (
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
            client.stream(
                "GET", "/v1/kpis/stream", headers=auth(Role.PROJECT_MANAGER, ["river"])
            ) as response,
        ):

            async def every_kpi_of_river() -> None:
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        body = orjson.loads(line[6:])
                        projects.append(body["project"])
                        kpis.add(body["kpi"])
                        if len(kpis) == len(KPIS):
                            return

            await asyncio.wait_for(every_kpi_of_river(), 20)
        # sunny's figures were on the stream too, interleaved; none came through.
        assert set(projects) == {"river"}
