"""dispatch's HTTP API over httpx, with the signed-in user's bearer token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from services.console.service_layer.ports import Json, UpstreamError


class DispatchApi:
    """Calls dispatch; any refusal or outage becomes an `UpstreamError` with dispatch's code."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def get(self, token: str, path: str, params: Mapping[str, Any] | None = None) -> Json:
        """GET `path`; the JSON body, or `UpstreamError`."""
        return await self._send("GET", path, token, params=params)

    async def post(
        self, token: str, path: str, body: Json | None, headers: Mapping[str, str] | None = None
    ) -> Json:
        """POST `body` to `path`; the JSON body, or `UpstreamError`."""
        return await self._send("POST", path, token, json=body, headers=headers)

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Json | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Json:
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        try:
            response = await self._client.request(
                method, path, params=params, json=json, headers=sent
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(
                503, "dispatch_unavailable", f"dispatch did not answer: {type(exc).__name__}"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            problem = body if isinstance(body, dict) else {}
            raise UpstreamError(
                response.status_code,
                str(problem.get("code") or "dispatch_error"),
                str(problem.get("detail") or response.text[:300]),
            )
        if not isinstance(body, dict):
            raise UpstreamError(502, "dispatch_bad_answer", "dispatch answered without JSON")
        return body
