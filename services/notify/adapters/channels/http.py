"""What the HTTP-based channels share: posting JSON and judging the answer."""

from __future__ import annotations

import math
from typing import Any, Protocol

import httpcore
import httpx
import orjson

from services.notify.service_layer.ports import DeliveryFailed
from shared.redact import redact_text, url_secrets

CONNECTIONS_PER_LANE = 4
"""Connections of one small pool in `HttpLanes`."""


class HttpPoster(Protocol):
    """What the channels need of an HTTP client: `httpx.AsyncClient` or `HttpLanes`."""

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST `content` with `headers`."""
        ...


class HttpLanes:
    """Several small connection pools used as one, each send on the least busy.

    The pool matches every waiting request against every connection (and polls each
    connection's socket) whenever a request starts or ends, so one pool of 50 kept-alive
    connections spent over half of notify's CPU doing that when sending flat out. Pools
    of a few connections each keep that work small; the sum of their connections is the
    same, and each keeps its connections alive between sends. They are httpcore's pools,
    the transport under httpx, used directly: the client's request and response models,
    URL merging and auth and redirect layers were the next largest share of a send, and
    a webhook needs none of them.
    """

    def __init__(self, connections: int, timeout: float) -> None:
        lanes = max(1, math.ceil(connections / CONNECTIONS_PER_LANE))
        per_lane = max(1, math.ceil(connections / lanes))
        self._pools = [
            httpcore.AsyncConnectionPool(
                max_connections=per_lane, max_keepalive_connections=per_lane
            )
            for _ in range(lanes)
        ]
        self._busy = [0] * lanes
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}

    @property
    def lanes(self) -> int:
        """How many pools there are."""
        return len(self._pools)

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST on the pool with the fewest sends in flight (its answer read in full)."""
        lane = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[lane] += 1
        try:
            answer = await self._pools[lane].request(
                "POST",
                url,
                headers=list(headers.items()),
                content=content,
                extensions={"timeout": self._timeouts},
            )
        except _TRANSPORT_ERRORS as exc:
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._busy[lane] -= 1
        return httpx.Response(answer.status, headers=answer.headers, content=answer.content)

    async def aclose(self) -> None:
        """Close every pool's connections."""
        for pool in self._pools:
            await pool.aclose()


_TRANSPORT_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)
"""httpcore's failures, raised as httpx's (what `post_json` judges) by `HttpLanes`."""


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
        raise DeliveryFailed(
            redact_text(f"{type(exc).__name__} posting to {url}: {exc}", url_secrets(url))
        ) from exc
    if not response.is_success:
        answer = f"{url} answered {response.status_code}: {response.text[:300]}"
        raise DeliveryFailed(redact_text(answer, url_secrets(url)))
    return response
