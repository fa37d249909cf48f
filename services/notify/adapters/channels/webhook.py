"""Outbound webhooks signed per the Standard Webhooks convention (standardwebhooks.com).

Headers `webhook-id` (the delivery id: the same on every retry, so receivers can drop
repeats), `webhook-timestamp` (Unix seconds) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`). The secret is configured as
`whsec_<base64 key>`, as the convention's libraries expect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

from services.notify.adapters.channels.http import HttpPoster, post_json
from services.notify.service_layer.ports import DeliveryFailed, OutboundMessage
from shared.clock import Clock, SystemClock


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookChannel:
    """POSTs the message as JSON to the recipient's URL, signed with its secret."""

    def __init__(self, client: HttpPoster, wall_clock: Clock | None = None) -> None:
        self._client = client
        # Receivers refuse a timestamp far from their own wall clock (replay protection),
        # so it is the real time even when notify runs on a simulated clock.
        self._clock = wall_clock or SystemClock()

    async def send(self, message: OutboundMessage) -> None:
        """Post one signed message."""
        if not message.secret:
            raise DeliveryFailed("the webhook endpoint has no secret configured")
        body = orjson.dumps(
            {
                "type": "notification.message",
                "delivery_id": message.delivery_id,
                "tenant": message.tenant,
                "project": message.project,
                "event_type": message.event_type,
                "work_order_id": message.work_order_id,
                "recipient": message.recipient,
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
                "created_at": message.created_at.isoformat(),
            }
        )
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "webhook-id": message.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(message.secret, message.delivery_id, timestamp, body),
        }
        await post_json(self._client, message.address, None, headers=headers, content=body)
