"""Odd input to notify is refused at the edge with 422 problem details, never a 500."""

from __future__ import annotations

import httpx

from services.notify.domain.config import NotifyConfig
from shared.auth import Role
from tests.integration.notify.conftest import Harness, token

SUPERVISOR = token(Role.SUPERVISOR, "sup-chen")
PAST_BIGINT = str(2**63)


def refused(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] in ("validation_failed", "invalid_last_event_id")


async def test_numbers_past_a_bigint_are_refused(harness: Harness) -> None:
    await harness.start(NotifyConfig())
    async with harness.api() as api:
        refused(await api.get("/v1/inbox", params={"after": PAST_BIGINT}, headers=SUPERVISOR))
        refused(await api.get("/v1/deliveries", params={"offset": PAST_BIGINT}, headers=SUPERVISOR))
        refused(await api.post(f"/v1/inbox/{PAST_BIGINT}/read", headers=SUPERVISOR))
        refused(await api.post(f"/v1/dead-letters/{PAST_BIGINT}/retry", headers=SUPERVISOR))
        refused(
            await api.get(
                "/v1/deliveries", params={"since": "0001-01-01T00:00:00+14:00"}, headers=SUPERVISOR
            )
        )


async def test_a_five_thousand_digit_last_event_id_is_refused(harness: Harness) -> None:
    await harness.start(NotifyConfig())
    async with harness.api() as api:
        for value in ("9" * 5000, PAST_BIGINT):
            response = await api.get(
                "/v1/inbox/stream", headers={**SUPERVISOR, "Last-Event-ID": value}
            )
            refused(response)
