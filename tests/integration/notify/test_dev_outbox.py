"""On a local stack, SMS without a provider delivers to the development outbox, which
`/v1/dev-outbox` serves by order and by address, to the caller's projects only; outside
development the route does not exist."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from services.notify.entrypoints.app import create_app
from shared.auth import Role
from tests.integration.notify.conftest import Harness, token
from tests.integration.notify.support import eventually
from tests.unit.notify.builders import PROJECT, TENANT, envelope, reported

RESIDENTS_BY_SMS = NotifyConfig(
    tenants={TENANT: TenantConfig(resident_channels=(ChannelName.INBOX, ChannelName.SMS))}
)
SERVICE = token(Role.CUSTOMER_SERVICE, "cs-li")


async def outbox(api: httpx.AsyncClient, headers: dict[str, str], **params: str) -> Any:
    response = await api.get("/v1/dev-outbox", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_sms_without_a_provider_is_kept_in_the_development_outbox(harness: Harness) -> None:
    await harness.start(RESIDENTS_BY_SMS)  # the harness configures SMTP, not SMS
    await harness.publish(envelope(reported(), 1, work_order_id="wo-dev"))

    async def sent() -> bool:
        rows = await harness.deliveries(work_order_id="wo-dev", channel="sms")
        return bool(rows) and rows[0]["status"] == "sent"

    await eventually(sent, what="the resident's SMS sent to the development outbox")
    async with harness.api() as api:
        items = await outbox(api, SERVICE, work_order_id="wo-dev")
        assert [(i["channel"], i["address"], i["event_type"]) for i in items] == [
            ("sms", "138****0000", "workorder.reported")
        ]
        message = items[0]
        assert (
            message["recipient"] == "resident:rsd_zhangsanzhangsanzhangsan"
            and message["project"] == PROJECT
        )
        # The rendered text, as the resident would have read it.
        assert message["body_text"].startswith("张*您好")  # greeted by the mask
        assert "厨房水管漏水" in message["body_text"] and "已受理" in message["subject"]
        assert await outbox(api, SERVICE, address="138****0000") == items
        assert await outbox(api, SERVICE, address="13900000000") == []
        # Another project's staff see nothing of it; residents may not read it at all.
        elsewhere = token(Role.CUSTOMER_SERVICE, "cs-wu", ["river"])
        assert await outbox(api, elsewhere, work_order_id="wo-dev") == []
        resident = await api.get("/v1/dev-outbox", headers=token(Role.RESIDENT, "res-zhang"))
        assert resident.status_code == 403
    # Kept once: the delivery is not sent again, and its row is not doubled.
    assert len(await harness.deliveries(work_order_id="wo-dev", channel="sms")) == 1


async def test_the_development_outbox_is_not_served_outside_development(
    harness: Harness,
) -> None:
    notify = await harness.start(RESIDENTS_BY_SMS)
    production = notify.settings.model_copy(update={"environment": "production"})
    app = create_app(production, harness.clock)
    app.state.notify = dataclasses.replace(notify, settings=production)
    app.state.token_verifier = notify.verifier
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as api:
        answer = await api.get("/v1/dev-outbox", headers=SERVICE)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
