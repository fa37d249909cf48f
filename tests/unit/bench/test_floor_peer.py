"""The floor peer of bench/ingest.py validates the report as the others do and keeps nothing."""

from __future__ import annotations

import httpx

from bench.peers.floor_peer import create_app
from tests.integration.dispatch.api_support import report_body

REPORT = report_body()


async def test_the_floor_answers_a_report_and_refuses_a_bad_one() -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://floor") as client:
        first = await client.post("/v1/work-orders", json=REPORT)
        second = await client.post("/v1/work-orders", json=REPORT)
        refused = await client.post("/v1/work-orders", json={**REPORT, "kind": "party"})

    assert first.status_code == second.status_code == 201
    assert first.json()["project"] == "sunny"
    assert first.json()["id"] != second.json()["id"]
    assert refused.status_code == 422
