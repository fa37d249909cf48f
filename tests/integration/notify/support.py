"""Real receivers on loopback for notify's tests: an HTTP server and an SMTP server."""

from __future__ import annotations

import asyncio
import contextlib
import email
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session

from wo.processes import free_port


@dataclass
class Request:
    """One request a receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)
    """When it arrived (wall clock, for bench/notify.py's latencies)."""
    peer_port: int = 0
    """The sender's TCP port: which process sent it (tests/e2e/test_cluster.py)."""

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A minimal HTTP/1.1 server that records requests and answers as told.

    `statuses` is consumed one per request (then `default_status`), so a test can make it
    answer 500 then 200, or fail for ever.
    """

    default_status: int = 200
    statuses: list[int] = field(default_factory=list)
    answer: bytes = b'{"errcode": 0, "code": 0}'
    delay_seconds: float = 0.0
    """How long to wait before answering (a slow receiver)."""
    requests: list[Request] = field(default_factory=list)
    accepted: int = 0
    """Connections opened to it (kept-alive connections count once)."""
    port: int = 0
    unanswered: dict[int, Request] = field(default_factory=dict)
    """The request each connection waits on an answer to, by the sender's port."""
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        """The receiver's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self.port = free_port()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            # Kept-alive client connections would outlive the server: end their handlers.
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.accepted += 1
        peer_port = int(writer.get_extra_info("peername")[1])
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(method, path, headers, body, peer_port=peer_port)
                self.requests.append(request)
                self.unanswered[peer_port] = request
                status = self.statuses.pop(0) if self.statuses else self.default_status
                if self.delay_seconds:
                    await asyncio.sleep(self.delay_seconds)
                del self.unanswered[peer_port]
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(self.answer)}\r\n\r\n".encode()
                    + self.answer
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            self.unanswered.pop(peer_port, None)
            self._connections.discard(task)
            writer.close()


@contextlib.asynccontextmanager
async def http_receiver(**options: Any) -> AsyncIterator[HttpReceiver]:
    """A running `HttpReceiver`."""
    receiver = HttpReceiver(**options)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: SmtpEnvelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(content)))
        return "250 OK"


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on loopback collecting the mail it gets."""

    controller: Controller
    collector: _Collect

    @property
    def port(self) -> int:
        """The SMTP port."""
        return int(self.controller.port)

    @property
    def messages(self) -> list[tuple[list[str], Message]]:
        """(recipients, message) of every mail received."""
        return self.collector.messages


@contextlib.contextmanager
def smtp_receiver() -> Any:
    """A running `SmtpReceiver`."""
    collector = _Collect()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpReceiver(controller, collector)
    finally:
        controller.stop()


async def eventually(
    check: Callable[[], Awaitable[object]] | Callable[[], object],
    *,
    within: float = 20.0,
    what: str = "condition",
) -> None:
    """Wait (bounded) until `check` is true (truthy: a non-empty list too); fail the test
    otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
