"""The one structlog setup: JSON lines in production, readable lines in development.

Context such as the correlation id and work-order id is bound per request or per
message with `bind_context` and appears on every line logged while handling it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import structlog

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def redact_credentials(text: str) -> str:
    """`text` with the password (or token) of every URL in it replaced by `***`.

    `nats://dispatch:secret@host:4222` becomes `nats://dispatch:***@host:4222`, and a
    token URL `nats://secret@host` becomes `nats://***@host`.
    """
    if "@" not in text:
        return text

    def hide(match: re.Match[str]) -> str:
        user, colon, _ = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}:***@" if colon else f"{match['scheme']}***@"

    return _URL_CREDENTIALS.sub(hide, text)


def _redact_event(
    logger: object, method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    # Last line of defence: a URL with credentials reaches a log line from many places
    # (settings, a library's error text), so every string value is scrubbed.
    for key, value in event.items():
        if isinstance(value, str) and "@" in value:
            event[key] = redact_credentials(value)
    return event


class _RedactingFilter(logging.Filter):
    """The same scrubbing for the standard library's log records (nats-py, uvicorn)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "@" in message:
            record.msg, record.args = redact_credentials(message), None
        return True


def configure_logging(
    service: str, level: str = "INFO", fmt: Literal["console", "json"] = "console"
) -> None:
    """Configure structlog and the standard library's root logger once per process."""
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_event,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        # Plain tracebacks: the default rich one prints every frame's locals, which took
        # minutes for one exception with a hundred requests in flight.
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.processors.format_exc_info
            if fmt == "json"
            else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _RedactingFilter) for f in handler.filters):
            handler.addFilter(_RedactingFilter())
    # uvicorn's access log duplicates our request metrics and floods benchmarks.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


@contextmanager
def bind_context(**values: Any) -> Iterator[None]:
    """Bind values (correlation_id, work_order_id, ...) to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger named after its module."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
