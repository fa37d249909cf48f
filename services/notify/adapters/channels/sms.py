"""SMS through a provider's HTTP API (endpoint, key and template id configured).

The body is the provider-neutral shape most gateways accept or a thin proxy maps:
`{"to", "template_id", "params": {"subject", "text"}}`, with the key as a bearer token.
"""

from __future__ import annotations

from services.notify.adapters.channels.http import HttpPoster, post_json
from services.notify.service_layer.ports import OutboundMessage


class SmsChannel:
    """Sends the text to the recipient's phone through the configured provider."""

    def __init__(self, client: HttpPoster, endpoint: str, api_key: str, template_id: str) -> None:
        self._client = client
        self._endpoint = endpoint
        self._api_key = api_key
        self._template_id = template_id

    async def send(self, message: OutboundMessage) -> None:
        """Ask the provider to send one SMS."""
        body = {
            "to": message.address,
            "template_id": self._template_id,
            "params": {"subject": message.subject, "text": message.text},
            "reference": message.delivery_id,
        }
        await post_json(
            self._client,
            self._endpoint,
            body,
            headers={"authorization": f"Bearer {self._api_key}"},
        )
