"""Group-chat robots: WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) webhooks.

Each takes markdown in its own envelope. DingTalk and Feishu sign with a timestamp and
the robot's secret when the robot is set up to require it (a secret is configured);
WeCom's robot key is part of its URL. A robot answers 200 with an error code in the
body when it refuses a message, so the code is checked too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote_plus

import httpx

from services.notify.adapters.channels.http import HttpPoster, post_json
from services.notify.service_layer.ports import DeliveryFailed, OutboundMessage
from shared.clock import Clock, SystemClock


def markdown(message: OutboundMessage) -> str:
    """The message as robot markdown: the subject as a heading, then the text."""
    return f"### {message.subject}\n\n" + message.text.replace("\n", "\n\n")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign`: base64(HMAC-SHA256(key=secret, msg="<timestamp>\\n<secret>"))."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's `sign`: base64(HMAC-SHA256(key="<timestamp>\\n<secret>", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _check(response: httpx.Response, field: str) -> None:
    try:
        answer: Any = response.json()
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get(field, 0) not in (0, None):
        raise DeliveryFailed(f"robot refused the message: {answer}")


class WeComRobot:
    """企业微信群机器人: `{"msgtype": "markdown", "markdown": {"content": ...}}`."""

    def __init__(self, client: HttpPoster) -> None:
        self._client = client

    async def send(self, message: OutboundMessage) -> None:
        """Post the markdown message."""
        body = {"msgtype": "markdown", "markdown": {"content": markdown(message)}}
        _check(await post_json(self._client, message.address, body), "errcode")


class DingTalkRobot:
    """钉钉群机器人: markdown with a title; `timestamp` and `sign` query parameters when signed."""

    def __init__(self, client: HttpPoster, wall_clock: Clock | None = None) -> None:
        self._client = client
        # The robot's server checks the timestamp against its own wall clock.
        self._clock = wall_clock or SystemClock()

    async def send(self, message: OutboundMessage) -> None:
        """Post the markdown message, signed if the robot has a secret."""
        url = message.address
        if message.secret:
            timestamp = int(self._clock.now().timestamp() * 1000)
            sign = quote_plus(dingtalk_sign(message.secret, timestamp))
            url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={sign}"
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.subject, "text": markdown(message)},
        }
        _check(await post_json(self._client, url, body), "errcode")


class FeishuRobot:
    """飞书群机器人: an interactive card with a markdown element; `timestamp`/`sign` when signed."""

    def __init__(self, client: HttpPoster, wall_clock: Clock | None = None) -> None:
        self._client = client
        # The robot's server checks the timestamp against its own wall clock.
        self._clock = wall_clock or SystemClock()

    async def send(self, message: OutboundMessage) -> None:
        """Post the card, signed if the robot has a secret."""
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": message.subject}},
                "elements": [{"tag": "markdown", "content": message.text}],
            },
        }
        if message.secret:
            timestamp = int(self._clock.now().timestamp())
            body["timestamp"] = str(timestamp)
            body["sign"] = feishu_sign(message.secret, timestamp)
        _check(await post_json(self._client, message.address, body), "code")
