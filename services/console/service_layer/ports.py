"""What the console's service layer needs from the outside: sessions, and the APIs of
dispatch, notify and reporting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from services.console.domain.session import Session

Json = dict[str, Any]


class SessionStore(Protocol):
    """Where sessions live between requests."""

    def get(self, session_id: str) -> Session | None:
        """The session with this id, if kept."""
        ...

    def put(self, session: Session) -> None:
        """Keep `session` (replacing one with the same id)."""
        ...

    def delete(self, session_id: str) -> None:
        """Forget the session with this id (nothing if unknown)."""
        ...


class UpstreamError(Exception):
    """A service answered with a problem (or did not answer): its status, code and words."""

    def __init__(self, status: int, code: str, detail: str, service: str = "dispatch") -> None:
        super().__init__(f"{service} {status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.service = service
        """Which service answered (or did not): `dispatch`, `notify`."""


class DispatchPort(Protocol):
    """dispatch's HTTP API as the console calls it, always with the user's own token."""

    async def get(self, token: str, path: str, params: Mapping[str, Any] | None = None) -> Json:
        """GET `path`; the JSON body, or `UpstreamError`."""
        ...

    async def post(
        self, token: str, path: str, body: Json | None, headers: Mapping[str, str] | None = None
    ) -> Json:
        """POST `body` to `path`; the JSON body, or `UpstreamError`."""
        ...


class NotifyPort(Protocol):
    """notify's HTTP API as the console calls it, with the user's own token."""

    async def get(self, token: str, path: str, params: Mapping[str, Any] | None = None) -> Json:
        """GET `path`; the JSON object, or `UpstreamError`."""
        ...

    async def get_list(
        self, token: str, path: str, params: Mapping[str, Any] | None = None
    ) -> list[Json]:
        """GET `path` answered with a JSON array."""
        ...

    async def post(
        self, token: str, path: str, body: Json | None, headers: Mapping[str, str] | None = None
    ) -> Json:
        """POST `body` to `path`; the JSON object, or `UpstreamError`."""
        ...

    async def put(
        self, token: str, path: str, body: Json, params: Mapping[str, Any] | None = None
    ) -> Json:
        """PUT `body` to `path`; the JSON object, or `UpstreamError`."""
        ...

    async def patch(self, token: str, path: str, patch: Json) -> Json:
        """A JSON Merge Patch of `path`; the JSON object, or `UpstreamError`."""
        ...


class ReportingPort(Protocol):
    """reporting's HTTP API as the console calls it, with the user's own token."""

    async def get(self, token: str, path: str, params: Mapping[str, Any] | None = None) -> Json:
        """GET `path`; the JSON object, or `UpstreamError`."""
        ...
