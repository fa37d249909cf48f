"""Group robots (WeCom, DingTalk, Feishu) and SMS against real HTTP receivers on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.notify.adapters.channels.http import HttpLanes, post_json
from services.notify.adapters.channels.robots import DingTalkRobot, FeishuRobot, WeComRobot
from services.notify.adapters.channels.sms import SmsChannel
from services.notify.domain.config import Contact, Endpoint, NotifyConfig, TenantConfig
from services.notify.domain.model import ChannelName
from services.notify.service_layer.ports import DeliveryFailed, OutboundMessage
from tests.integration.notify.conftest import Harness
from tests.integration.notify.support import eventually, http_receiver
from tests.unit.notify.builders import TENANT, envelope, reported, story
from wo.processes import free_port


def robots(url: str) -> NotifyConfig:
    """The maintenance team's three group chats hold the supervisor role."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={
                    "wecom-team": Contact(
                        channels=(ChannelName.WECOM,),
                        wecom=Endpoint(url=f"{url}/wecom?key=abc"),
                    ),
                    "dingtalk-team": Contact(
                        channels=(ChannelName.DINGTALK,),
                        dingtalk=Endpoint(url=f"{url}/dingtalk?access_token=t", secret="SECding"),
                    ),
                    "feishu-team": Contact(
                        language="en",
                        channels=(ChannelName.FEISHU,),
                        feishu=Endpoint(url=f"{url}/feishu", secret="feishu-secret"),
                    ),
                },
                roles={"supervisor": ("wecom-team", "dingtalk-team", "feishu-team")},
                resident_channels=(),
            )
        }
    )


async def test_escalations_reach_the_three_robots_in_their_formats_and_signed(
    harness: Harness,
) -> None:
    async with http_receiver() as chats:
        await harness.start(robots(chats.url))
        escalation = story()[5]
        await harness.publish(envelope(reported(), 1))
        await harness.publish(envelope(escalation, 2))
        await eventually(lambda: len(chats.requests) == 3, what="three robot messages")
        by_path = {urlsplit(r.path).path: r for r in chats.requests}

        wecom = by_path["/wecom"].json()
        assert wecom["msgtype"] == "markdown"
        assert wecom["markdown"]["content"].startswith("### 工单升级（第1级）")

        dingtalk = by_path["/dingtalk"]
        query = parse_qs(urlsplit(dingtalk.path).query)
        timestamp = query["timestamp"][0]
        expected = base64.b64encode(
            hmac.new(b"SECding", f"{timestamp}\nSECding".encode(), hashlib.sha256).digest()
        ).decode()
        assert query["sign"] == [expected] and query["access_token"] == ["t"]
        assert abs(int(timestamp) / 1000 - datetime.now(UTC).timestamp()) < 60
        body = dingtalk.json()
        assert body["msgtype"] == "markdown" and "wo-1" in body["markdown"]["title"]

        feishu = by_path["/feishu"].json()
        key = f"{feishu['timestamp']}\nfeishu-secret".encode()
        assert (
            feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        )
        assert feishu["msg_type"] == "interactive"
        assert feishu["card"]["header"]["title"]["content"].startswith("Escalated to you")
        assert feishu["card"]["elements"][0]["tag"] == "markdown"


def message() -> OutboundMessage:
    return OutboundMessage(
        delivery_id="d-1",
        tenant=TENANT,
        project="sunny-garden",
        recipient="person:x",
        recipient_name="X",
        address="",
        secret=None,
        subject="s",
        text="t",
        html="<p>t</p>",
        event_type="workorder.completed",
        work_order_id="wo-1",
        created_at=datetime.now(UTC),
    )


async def test_a_robot_that_answers_an_error_code_is_a_failed_send() -> None:
    refusal = b'{"errcode": 310000, "errmsg": "sign not match"}'
    async with http_receiver(answer=refusal) as chat, httpx.AsyncClient() as client:
        robot = DingTalkRobot(client)
        with pytest.raises(DeliveryFailed, match="sign not match"):
            await robot.send(replace(message(), address=f"{chat.url}/d"))


async def test_sms_goes_to_the_provider_with_key_template_and_text() -> None:
    async with http_receiver() as provider, httpx.AsyncClient() as client:
        channel = SmsChannel(client, f"{provider.url}/sms", "key-1", "TPL_42")
        await channel.send(replace(message(), address="13800000000"))
        [request] = provider.requests
        assert request.headers["authorization"] == "Bearer key-1"
        assert request.json() == {
            "to": "13800000000",
            "template_id": "TPL_42",
            "params": {"subject": "s", "text": "t"},
            "reference": "d-1",
        }
        provider.default_status = 503
        with pytest.raises(DeliveryFailed, match="503"):
            await channel.send(replace(message(), address="13800000000"))


async def test_wecom_needs_no_secret() -> None:
    async with http_receiver() as chat, httpx.AsyncClient() as client:
        await WeComRobot(client).send(replace(message(), address=f"{chat.url}/w?key=k"))
        assert chat.requests[0].json()["markdown"]["content"] == "### s\n\nt"


async def test_feishu_without_a_secret_sends_an_unsigned_card() -> None:
    async with http_receiver() as chat, httpx.AsyncClient() as client:
        await FeishuRobot(client).send(replace(message(), address=f"{chat.url}/f"))
        body = chat.requests[0].json()
        assert "sign" not in body and body["card"]["elements"][0]["content"] == "t"


async def test_http_lanes_spread_concurrent_sends_and_keep_their_connections() -> None:
    lanes = HttpLanes(connections=8, timeout=5.0)
    assert lanes.lanes == 2
    async with http_receiver(delay_seconds=0.1) as receiver:
        try:
            for _ in range(2):
                answers = await asyncio.gather(
                    *(lanes.post(f"{receiver.url}/h", content=b"{}", headers={}) for _ in range(8))
                )
                assert [a.status_code for a in answers] == [200] * 8
        finally:
            await lanes.aclose()
    assert len(receiver.requests) == 16
    # Eight at once open eight connections over the two pools; the next eight reuse them.
    assert receiver.accepted == 8


async def test_a_receiver_nobody_listens_on_is_a_failed_send_through_the_lanes() -> None:
    lanes = HttpLanes(connections=4, timeout=5.0)
    try:
        with pytest.raises(
            DeliveryFailed, match=r"posting to http://127\.0\.0\.1:\d+/…: ConnectError"
        ):
            await post_json(lanes, f"http://127.0.0.1:{free_port()}/hook", {"a": 1})
    finally:
        await lanes.aclose()
