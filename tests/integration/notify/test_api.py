"""notify's HTTP API: delivery records with filters, the inbox and its live stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import uvicorn

from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from services.notify.entrypoints.app import create_app
from services.notify.entrypoints.schemas import (
    Deliveries,
    DeliveryWithMessage,
    Inbox,
    InboxMessage,
    MarkedRead,
)
from shared.auth import Role
from tests.integration.notify.conftest import Harness, token
from tests.integration.notify.support import eventually
from tests.unit.notify.builders import TENANT, envelope, reported, story
from wo.processes import free_port

INBOX_ONLY = NotifyConfig(tenants={TENANT: TenantConfig(resident_channels=(ChannelName.INBOX,))})
SUPERVISOR = token(Role.SUPERVISOR, "sup-chen")


async def test_deliveries_are_listed_with_filters_and_refused_to_other_roles(
    harness: Harness,
) -> None:
    await harness.start(INBOX_ONLY)
    for sequence, data in enumerate(story()[:2], start=1):
        await harness.publish(envelope(data, sequence))
    await harness.publish(envelope(reported(), 1, work_order_id="wo-2"))

    async def sent() -> bool:
        rows = await harness.deliveries()
        return len(rows) == 6 and all(r["status"] == "sent" for r in rows)

    # Two receipts and two owners' notes of two reports, the assignment and the owner's
    # note of it.
    await eventually(sent, what="six deliveries")
    async with harness.api() as api:
        everything = (await api.get("/v1/deliveries", headers=SUPERVISOR)).json()
        assert len(everything) == 6 and "body_html" not in everything[0]
        # The answers are the ones the OpenAPI document describes.
        assert len(Deliveries.model_validate(everything).root) == 6
        one_order = await api.get(
            "/v1/deliveries",
            params={"work_order_id": "wo-1", "recipient": "person:tech-wang"},
            headers=SUPERVISOR,
        )
        [row] = one_order.json()
        assert (row["template"], row["status"], row["attempts"]) == ("assigned", "sent", 1)
        by_status = await api.get(
            "/v1/deliveries", params={"status": "dead", "channel": "inbox"}, headers=SUPERVISOR
        )
        assert by_status.json() == []
        detail = await api.get(f"/v1/deliveries/{row['id']}", headers=SUPERVISOR)
        assert detail.json()["body_html"].startswith("<!DOCTYPE html>")
        assert DeliveryWithMessage.model_validate(detail.json()).id == row["id"]
        other_project = await api.get(
            "/v1/deliveries", params={"project": "river-view"}, headers=SUPERVISOR
        )
        assert other_project.json() == []

        refused = await api.get("/v1/deliveries", headers=token(Role.TECHNICIAN, "tech-wang"))
        assert refused.status_code == 403
        assert refused.json()["code"] == "role_not_allowed"
        anonymous = await api.get("/v1/deliveries")
        assert anonymous.status_code == 401
        bad_status = await api.get("/v1/deliveries", params={"status": "lost"}, headers=SUPERVISOR)
        assert bad_status.status_code == 422
        assert bad_status.json()["code"] == "validation_failed"
        naive = await api.get(
            "/v1/deliveries", params={"since": "2026-11-23T10:00:00"}, headers=SUPERVISOR
        )
        assert naive.status_code == 422 and naive.json()["code"] == "validation_failed"
        missing = await api.get("/v1/deliveries/nope", headers=SUPERVISOR)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        ready = await api.get("/readyz")
        assert ready.json()["status"] == "ready"
        metrics = (await api.get("/metrics")).text
        assert 'notify_deliveries_total{channel="inbox",outcome="sent"}' in metrics


@contextlib.asynccontextmanager
async def served(harness: Harness) -> AsyncIterator[str]:
    """notify's app on a real loopback port (streams need a real server)."""
    assert harness.notify is not None
    app = create_app(harness.notify.settings, harness.clock)
    app.state.notify = harness.notify
    app.state.token_verifier = harness.notify.verifier
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_resident_reads_the_inbox_and_streams_new_messages(harness: Harness) -> None:
    await harness.start(INBOX_ONLY)
    resident = token(Role.RESIDENT, "res-zhang")
    async with served(harness) as url, httpx.AsyncClient(base_url=url) as client:
        received: list[dict[str, object]] = []

        async def listen() -> None:
            async with client.stream("GET", "/v1/inbox/stream", headers=resident) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        received.append(json.loads(line.removeprefix("data: ")))

        listener = asyncio.create_task(listen())
        await harness.publish(envelope(reported(), 1))
        await eventually(lambda: len(received) == 1, what="the streamed receipt")
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        assert "报修已受理" in str(received[0]["subject"])
        # A streamed message is the same `InboxMessage` the list answers with.
        assert InboxMessage.model_validate(received[0]).person == "res-zhang"

        inbox = (await client.get("/v1/inbox", headers=resident)).json()
        assert [m["id"] for m in inbox] == [received[0]["id"]]
        assert Inbox.model_validate(inbox).root[0].read_at is None
        read = await client.post(f"/v1/inbox/{inbox[0]['id']}/read", headers=resident)
        assert read.json() == {"id": inbox[0]["id"], "read": True}
        assert MarkedRead.model_validate(read.json()).read
        unread = await client.get("/v1/inbox", params={"unread": "true"}, headers=resident)
        assert unread.json() == []
        # The owner's message is in the owner's inbox, not the resident's.
        owner = token(Role.CUSTOMER_SERVICE, "cs-li")
        theirs = (await client.get("/v1/inbox", headers=owner)).json()
        assert len(theirs) == 1 and theirs[0]["id"] != inbox[0]["id"]
        stolen = await client.post(f"/v1/inbox/{inbox[0]['id']}/read", headers=owner)
        assert stolen.status_code == 404 and stolen.json()["code"] == "message_not_found"
        # A reconnecting client gets what it missed after Last-Event-ID.
        async with client.stream(
            "GET", "/v1/inbox/stream", headers={**owner, "Last-Event-ID": "0"}
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    assert int(line.removeprefix("id: ")) == theirs[0]["id"]
                    break


async def test_a_channel_this_notify_cannot_send_on_is_not_planned(harness: Harness) -> None:
    # Residents are reached by inbox and SMS by default; no SMS provider is configured here.
    # Production: in development the development outbox would stand in for SMS.
    await harness.start(
        NotifyConfig(),
        smtp_host=None,
        environment="production",
        jwt_secret="production-secret-" + "x" * 32,
        notify_secrets_key="production-sealing-key-" + "y" * 32,
    )
    await harness.publish(envelope(reported(), 1))

    async def planned() -> bool:
        return len(await harness.deliveries()) == 2

    await eventually(planned, what="the report's deliveries")
    rows = await harness.deliveries()
    assert {(r["recipient"], r["channel"]) for r in rows} == {
        ("resident:rsd_zhangsanzhangsanzhangsan", "inbox"),
        ("person:cs-li", "inbox"),
    }
