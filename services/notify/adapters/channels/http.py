"""What the HTTP-based channels share: posting JSON and judging the answer."""

from __future__ import annotations

import math
from typing import Any, Protocol

import httpx
import orjson

from services.notify.service_layer.ports import DeliveryFailed

CONNECTIONS_PER_LANE = 4
"""Connections of one small pool in `HttpLanes`."""


class HttpPoster(Protocol):
    """What the channels need of an HTTP client: `httpx.AsyncClient` or `HttpLanes`."""

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST `content` with `headers`."""
        ...


class HttpLanes:
    """Several small httpx connection pools used as one, each send on the least busy.

    httpx's pool matches every waiting request against every connection (and polls each
    connection's socket) whenever a request starts or ends, so one pool of 50 kept-alive
    connections spent over half of notify's CPU doing that when sending flat out. Pools
    of a few connections each keep that work small; the sum of their connections is the
    same, and each keeps its connections alive between sends.
    """

    def __init__(self, connections: int, timeout: float) -> None:
        lanes = max(1, math.ceil(connections / CONNECTIONS_PER_LANE))
        per_lane = max(1, math.ceil(connections / lanes))
        self._clients = [
            httpx.AsyncClient(
                timeout=timeout,
                trust_env=False,
                limits=httpx.Limits(max_connections=per_lane, max_keepalive_connections=per_lane),
            )
            for _ in range(lanes)
        ]
        self._busy = [0] * lanes

    @property
    def lanes(self) -> int:
        """How many pools there are."""
        return len(self._clients)

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST on the pool with the fewest sends in flight."""
        lane = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[lane] += 1
        try:
            return await self._clients[lane].post(url, content=content, headers=headers)
        finally:
            self._busy[lane] -= 1

    async def aclose(self) -> None:
        """Close every pool's connections."""
        for client in self._clients:
            await client.aclose()


async def post_json(
    client: HttpPoster,
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
