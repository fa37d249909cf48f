"""The HTTP edge every service shares: token and header caps, 401/405/413 answers, headers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

import shared.http.serve
from shared import heap
from shared.auth import Role, TokenVerifier, mint_token
from shared.http.app import service_app
from shared.http.auth import MAX_TOKEN_BYTES, PrincipalDep
from shared.http.protocol import MAX_HEAD_BYTES, BoundedHeadProtocol
from shared.settings import ServiceSettings

SECRET = "edge-test-secret-of-at-least-thirty-two-bytes"


@dataclass
class Running:
    verifier: TokenVerifier


class Note(BaseModel):
    text: str


router = APIRouter()


@router.get("/v1/me")
async def me(principal: PrincipalDep) -> dict[str, str]:
    return {"subject": principal.subject}


@router.post("/v1/notes")
async def add_note(note: Note) -> dict[str, int]:
    return {"length": len(note.text)}


@router.get("/page", response_class=HTMLResponse)
async def page() -> str:
    return "<!doctype html><title>x</title>"


def edge_app(max_body_bytes: int = 1024) -> FastAPI:
    settings = ServiceSettings(
        service_name="edge", environment="production", jwt_secret=SECRET, max_body_bytes=1024
    )

    async def start() -> Running:
        return Running(settings.token_verifier())

    async def stop(_: Running) -> None:
        return None

    return service_app(
        settings,
        description="edge",
        start=start,
        stop=stop,
        state_name="edge",
        routers=[router],
        tags=[],
    )


@contextlib.asynccontextmanager
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = edge_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
            yield http


def bearer(secret: str = SECRET, **claims: Any) -> dict[str, str]:
    token = mint_token(
        secret=secret,
        subject="cs-li",
        role=Role.CUSTOMER_SERVICE,
        tenant="acme",
        projects=["sunny"],
        issuer="workorders-dev",
        audience="workorders",
        now=datetime.now(UTC),
    )
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_passes_the_edge() -> None:
    async with client() as http:
        response = await http.get("/v1/me", headers=bearer())
    assert response.status_code == 200
    assert response.json() == {"subject": "cs-li"}


async def test_401_without_a_token_carries_a_bearer_challenge() -> None:
    async with client() as http:
        response = await http.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="workorders"'
    assert response.headers["content-type"] == "application/problem+json"


async def test_401_for_a_refused_token_says_invalid_token() -> None:
    async with client() as http:
        response = await http.get("/v1/me", headers=bearer(secret="x" * 40))
    assert response.status_code == 401
    assert (
        response.headers["www-authenticate"] == 'Bearer realm="workorders", error="invalid_token"'
    )


async def test_an_oversized_token_is_refused_before_decoding() -> None:
    async with client() as http:
        response = await http.get(
            "/v1/me", headers={"Authorization": "Bearer " + "a" * (MAX_TOKEN_BYTES + 1)}
        )
    assert response.status_code == 401
    assert response.json()["code"] == "token_too_large"
    assert "error=" in response.headers["www-authenticate"]


async def test_405_carries_allow() -> None:
    async with client() as http:
        response = await http.delete("/v1/notes")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


async def test_a_chunked_body_over_the_limit_gets_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    async with client() as http:
        response = await http.post(
            "/v1/notes", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"


async def test_a_chunked_body_under_the_limit_is_read() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        yield b"x" * 100
        yield b'"}'

    async with client() as http:
        response = await http.post(
            "/v1/notes", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 200
    assert response.json() == {"length": 100}


async def test_html_answers_carry_a_content_security_policy_and_no_framing() -> None:
    async with client() as http:
        page = await http.get("/page")
        docs = await http.get("/docs")
        api = await http.get("/v1/me", headers=bearer())
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in api.headers
    assert api.headers["x-content-type-options"] == "nosniff"


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[int]:
    # A socket already listening: connections wait in its backlog until uvicorn accepts.
    listening = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, lifespan="off", http=BoundedHeadProtocol)
    )
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        listening.close()


async def raw_request(port: int, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_request_head_over_the_cap_gets_431_without_being_read_whole() -> None:
    app = edge_app()
    async with app.router.lifespan_context(app), served(app) as port:
        forged = b"Bearer " + b"a" * (4 * 1024 * 1024)
        answer = await raw_request(
            port, b"GET /v1/me HTTP/1.1\r\nHost: edge\r\nAuthorization: " + forged + b"\r\n\r\n"
        )
        normal = await raw_request(
            port,
            b"GET /v1/me HTTP/1.1\r\nHost: edge\r\nConnection: close\r\nAuthorization: "
            + bearer()["Authorization"].encode()
            + b"\r\n\r\n",
        )
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"application/problem+json" in answer
    assert b'"code":"headers_too_large"' in answer
    assert normal.startswith(b"HTTP/1.1 200 ")


def test_served_services_use_the_bounded_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(heap, "settle", lambda: None)
    settings = ServiceSettings(environment="development")
    shared.http.serve.serve(settings, "shared.http.app:service_app")
    assert seen["http"] is BoundedHeadProtocol
    assert BoundedHeadProtocol.max_head_bytes == MAX_HEAD_BYTES
