"""uvicorn's HTTP protocol with a cap on the size of a request's head (line and headers).

uvicorn's httptools protocol reads a request head of any size: a forged 32 MiB
`Authorization` header was buffered, parsed and handed to the token check, and four
such requests in parallel tripled a service's memory. This protocol counts the bytes
received while a head is incomplete and answers 431 once they pass the cap, before
the parser has buffered more than one read past it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 16 * 1024
"""Most bytes of a request line and headers together (h11's default cap, too)."""

LINGER_SECONDS = 5.0
"""How long the rest of a refused request is read and dropped before the connection closes."""


def head_too_large_response(max_bytes: int) -> bytes:
    """The whole 431 answer, problem details, closing the connection."""
    body = orjson.dumps(
        {
            "type": "https://workorders.dev/problems/headers_too_large",
            "title": "Request header fields too large",
            "status": 431,
            "code": "headers_too_large",
            "detail": f"the request line and headers are over {max_bytes} bytes",
        }
    )
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/problem+json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


class BoundedHeadProtocol(HttpToolsProtocol):
    """httptools' protocol that refuses a request head over `MAX_HEAD_BYTES` with 431."""

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False
        self._head_bytes = 0
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        transport: asyncio.Transport | None = self.transport
        if not self._in_head or transport is None or transport.is_closing():
            return
        # Everything of this read belongs to an incomplete head (give or take the end
        # of a previous pipelined request, which only makes the cap a little stricter).
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head_bytes:
            self._refuse(transport)

    def _refuse(self, transport: asyncio.Transport) -> None:
        # Closing at once with the client still sending would reset the connection and
        # lose the answer; so the answer goes out, the rest is read and dropped (nothing
        # is kept), and the connection closes when the client does or after a while.
        self._refused = True
        self._in_head = False
        transport.write(head_too_large_response(self.max_head_bytes))
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
