"""A report entered after the call: `received_at` over HTTP."""

from __future__ import annotations

from datetime import timedelta

from shared.auth import Role
from tests.integration.dispatch.api_support import NOW, Api, auth, report_body
from tests.integration.dispatch.test_sla_api import arrival_clock, instant


async def test_the_arrival_clock_runs_from_when_the_call_came_in(api: Api) -> None:
    received = NOW - timedelta(minutes=2)

    order = await api.report(received_at=received.isoformat())

    assert instant(order["received_at"]) == received
    arrival = await arrival_clock(api, order["id"])
    assert instant(arrival["due_at"]) == received + timedelta(minutes=3)
    assert arrival["elapsed_seconds"] == 120


async def test_received_at_too_long_ago_or_ahead_is_refused_and_writes_nothing(api: Api) -> None:
    before = await api.event_count()
    answers = [
        await api.client.post(
            "/v1/work-orders",
            json=report_body(received_at=(NOW + offset).isoformat()),
            headers=auth(Role.CUSTOMER_SERVICE),
        )
        for offset in (-timedelta(hours=25), timedelta(minutes=1))
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (422, "received_too_long_ago"),
        (422, "received_in_future"),
    ]
    assert await api.event_count() == before
