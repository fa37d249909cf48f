"""Supervisors read the escalations addressed to them: dispatch's ladder names the role,
notify resolves it to people and delivers to their inbox, the console shows that inbox."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from services.notify.domain.config import Contact, NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from shared.auth import Role
from shared.envelope import Envelope
from shared.events.sla import EscalationRole, SlaEscalated
from shared.nats import connect, ensure_streams
from tests.integration.console.support import ConsoleStack
from tests.integration.dispatch.api_support import NOW, TENANT, auth
from tests.integration.notify.support import eventually
from tests.unit.notify.builders import envelope, reported, sla_fields
from wo.processes import NatsServer

SUPERVISOR = "dev-supervisor"


@pytest.fixture
def notify_config() -> NotifyConfig:
    """The development supervisor holds the supervisor role, reached in the inbox."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={SUPERVISOR: Contact(name="主管", channels=(ChannelName.INBOX,))},
                roles={"supervisor": (SUPERVISOR,)},
            )
        }
    )


def breach_escalated() -> SlaEscalated:
    """The ladder's breach step: the arrival clock breached, the supervisor told."""
    return SlaEscalated(
        **sla_fields(),
        due_at=NOW + timedelta(minutes=3),
        level=1,
        trigger="breach",
        to_role=EscalationRole.SUPERVISOR,
        scheduled_for=NOW + timedelta(minutes=3),
        detected_at=NOW + timedelta(minutes=3, seconds=1),
    )


async def publish(nats_url: str, *envelopes: Envelope) -> None:
    bus = await connect(nats_url, name="console-test-escalations")
    try:
        js = bus.jetstream()
        await ensure_streams(js)
        for item in envelopes:
            headers = {"Nats-Msg-Id": str(item.id)}
            await js.publish(item.nats_subject(), item.to_json(), headers=headers)
    finally:
        await bus.drain()


async def test_a_supervisor_reads_an_escalation_and_marks_it_read(
    both: tuple[ConsoleStack, httpx.AsyncClient], nats_server: NatsServer
) -> None:
    stack, notify = both
    order = await stack.api.report()
    order_id = str(order["id"])
    events = (reported(), breach_escalated())
    await publish(
        nats_server.url,
        *(
            envelope(data, n, work_order_id=order_id, at=NOW, tenant=TENANT, project="sunny")
            for n, data in enumerate(events, start=1)
        ),
    )
    mine = auth(Role.SUPERVISOR, subject=SUPERVISOR)

    async def delivered() -> bool:
        answer = await notify.get("/v1/inbox", headers=mine)
        return len(answer.json()) == 1

    await eventually(delivered, what="the escalation in the supervisor's inbox")
    message = (await notify.get("/v1/inbox", headers=mine)).json()[0]

    async with stack.browser() as supervisor:
        await supervisor.sign_in(SUPERVISOR)
        page = await supervisor.page("/inbox")
        assert page.status_code == 200
        unread = page.text.split('data-testid="unread"')[1].split("</ol>")[0]
        assert f'data-message="{message["id"]}"' in unread
        assert message["subject"] in unread
        assert f'href="/dispatch/orders/{order_id}"' in unread
        done = await supervisor.submit("/inbox", f"/inbox/{message['id']}/read")
        assert done.status_code == 303 and done.headers["location"] == "/inbox"
        after = (await supervisor.page("/inbox/live")).text
        assert 'data-testid="unread"' not in after and "没有新消息" in after
        assert f'data-message="{message["id"]}"' in after.split('data-testid="read"')[1]
    assert (await notify.get("/v1/inbox", headers=mine)).json()[0]["read_at"] is not None

    async with stack.browser() as someone:
        await someone.sign_in("dev-dispatcher")
        assert (await someone.page("/inbox")).status_code == 403
