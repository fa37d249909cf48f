"""Odd input to reporting is refused at the edge with 422 problem details, never a 500."""

from __future__ import annotations

from tests.integration.reporting.api_support import HQ, running_reporting
from tests.integration.reporting.scripted_week import NOW
from wo.processes import NatsServer


async def test_a_period_in_year_one_is_refused(database_url: str, nats_server: NatsServer) -> None:
    async with running_reporting(
        database_url, nats_server.url, NOW, projector_enabled=False, kpi_publish_enabled=False
    ) as api:
        for params in (
            {"from": "0001-01-01", "to": "0001-01-03"},
            {"from": "9999-12-01", "to": "9999-12-31"},
        ):
            for path in ("/v1/kpis", "/v1/kpis/export", "/v1/kpis/repair_timeliness/series"):
                response = await api.client.get(path, params=params, headers=HQ)
                assert response.status_code == 422, (path, response.text)
                assert response.headers["content-type"] == "application/problem+json"
