"""Pure-ASGI middleware: body size limit, security headers, correlation id, request metrics.

Written as plain ASGI rather than BaseHTTPMiddleware because they sit on every
request of the ingest path and must not buffer or spawn tasks.
"""

from __future__ import annotations

import time
import uuid

import orjson
import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = b"x-correlation-id"

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413, by header and while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # A chunked body has no length to check up front: the route reading it
                    # gets this (an HTTPException, so FastAPI does not turn it into a 400).
                    raise _BodyTooLarge(self.max_bytes)
            return message

        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _BodyTooLarge:
            # Only reached where no exception handler answered (a body read outside a route).
            if not started:
                await _too_large(send, self.max_bytes)


class _BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over {max_bytes} bytes")


async def _too_large(send: Send, max_bytes: int) -> None:
    body = orjson.dumps(
        {
            "type": "https://workorders.dev/problems/payload_too_large",
            "title": "Payload too large",
            "status": 413,
            "code": "payload_too_large",
            "detail": f"the request body is over {max_bytes} bytes",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""Content-Security-Policy of the services' own pages: nothing but their own files."""

API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
"""The API docs pages (Swagger UI, ReDoc) load their scripts from a CDN with an inline
starter; they get the same framing and referrer rules with those sources allowed."""

API_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


class SecurityHeaders:
    """`nosniff` on every answer; on HTML answers a Content-Security-Policy, no framing and
    no referrer, so a page of the service cannot be framed (clickjacking) or run foreign
    script."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = PAGE_POLICY if scope.get("path") not in API_DOCS_PATHS else API_DOCS_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-content-type-options", b"nosniff")]
                if _is_html(headers):
                    headers += [
                        (b"content-security-policy", policy.encode()),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"),
                    ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name.lower() == b"content-type" and value.lower().startswith(b"text/html")
        for name, value in headers
    )


class RequestContext:
    """Bind a correlation id to logs for each request, echo it back, and record metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _header(scope, CORRELATION_HEADER) or str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        status = 500
        started = time.perf_counter()

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (CORRELATION_HEADER, correlation_id.encode()),
                ]
            await send(message)

        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service=self.service, correlation_id=correlation_id)
        try:
            await self.app(scope, receive, send_with_header)
        finally:
            route = _route_template(scope)
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")[:128]
            return text
    return None


def _route_template(scope: Scope) -> str:
    # The template, not the raw path, so label cardinality stays bounded.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
