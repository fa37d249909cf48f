"""What the HTTP-based channels share: posting JSON and judging the answer."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from services.notify.service_layer.ports import DeliveryFailed


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: Any,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """POST a JSON body; a transport error or a non-2xx answer raises `DeliveryFailed`."""
    payload = content if content is not None else orjson.dumps(body)
    try:
        response = await client.post(
            url, content=payload, headers={"content-type": "application/json", **(headers or {})}
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__} posting to {url}: {exc}") from exc
    if not response.is_success:
        raise DeliveryFailed(f"{url} answered {response.status_code}: {response.text[:300]}")
    return response
