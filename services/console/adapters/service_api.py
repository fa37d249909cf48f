"""A service's HTTP API (dispatch's, notify's) over httpx, with the signed-in user's token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from services.console.service_layer.ports import Json, UpstreamError


@dataclass(frozen=True)
class Versioned:
    """An answer and the version it was read at (`ETag`), to send back as `If-Match`."""

    body: Any
    etag: str | None


@dataclass(frozen=True)
class Download:
    """A file a service answered: its bytes, type and suggested name (Content-Disposition)."""

    content: bytes
    media_type: str
    disposition: str


class ServiceApi:
    """Calls one service; any refusal or outage becomes an `UpstreamError` with its code."""

    def __init__(self, client: httpx.AsyncClient, service: str) -> None:
        self._client = client
        self._service = service

    async def get(self, token: str, path: str, params: Mapping[str, Any] | None = None) -> Json:
        """GET `path`; the JSON object answered, or `UpstreamError`."""
        return self._object(await self._send("GET", path, token, params=params))

    async def get_list(
        self, token: str, path: str, params: Mapping[str, Any] | None = None
    ) -> list[Json]:
        """GET `path` whose answer is a JSON array (notify's configuration lists)."""
        body = await self._send("GET", path, token, params=params)
        if not isinstance(body, list):
            raise self._bad_answer()
        return body

    async def read(
        self, token: str, path: str, params: Mapping[str, Any] | None = None
    ) -> Versioned:
        """GET `path`: the JSON answered and its `ETag`, or `UpstreamError`."""
        response = await self._request("GET", path, token, params=params)
        body = self._json(response)
        self._refused(response, body)
        return Versioned(body, response.headers.get("etag"))

    async def post(
        self, token: str, path: str, body: Json | None, headers: Mapping[str, str] | None = None
    ) -> Json:
        """POST `body` to `path`; the JSON object answered, or `UpstreamError`."""
        return self._object(await self._send("POST", path, token, json=body, headers=headers))

    async def put(
        self,
        token: str,
        path: str,
        body: Json,
        params: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> Json:
        """PUT `body` to `path` (refused if the version moved past `if_match`); the JSON
        object answered, or `UpstreamError`."""
        headers = {"If-Match": if_match} if if_match else None
        return self._object(
            await self._send("PUT", path, token, params=params, json=body, headers=headers)
        )

    async def patch(self, token: str, path: str, patch: Json) -> Json:
        """A JSON Merge Patch (RFC 7396) of `path`; the JSON object answered."""
        headers = {"Content-Type": "application/merge-patch+json"}
        return self._object(await self._send("PATCH", path, token, json=patch, headers=headers))

    async def download(
        self, token: str, path: str, params: Mapping[str, Any] | None = None
    ) -> Download:
        """GET a file (reporting's exports), or `UpstreamError` with the problem answered."""
        response = await self._request("GET", path, token, params=params)
        if response.status_code >= 400:
            self._refused(response, self._json(response))
        return Download(
            response.content,
            response.headers.get("content-type", "application/octet-stream"),
            response.headers.get("content-disposition", "attachment"),
        )

    def _object(self, body: Any) -> Json:
        if not isinstance(body, dict):
            raise self._bad_answer()
        return body

    def _bad_answer(self) -> UpstreamError:
        name = self._service
        return UpstreamError(502, f"{name}_bad_answer", f"{name} answered without JSON", name)

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Json | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        response = await self._request(
            method, path, token, params=params, json=json, headers=headers
        )
        body = self._json(response)
        self._refused(response, body)
        return body

    async def _request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Json | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        name = self._service
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        try:
            return await self._client.request(method, path, params=params, json=json, headers=sent)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                503, f"{name}_unavailable", f"{name} did not answer: {type(exc).__name__}", name
            ) from None

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _refused(self, response: httpx.Response, body: Any) -> None:
        if response.status_code >= 400:
            problem = body if isinstance(body, dict) else {}
            raise UpstreamError(
                response.status_code,
                str(problem.get("code") or f"{self._service}_error"),
                str(problem.get("detail") or response.text[:300]),
                self._service,
            )
