"""The one error hierarchy of the services.

Domain code raises these; `shared.http.problems` maps them to RFC 9457 problem
details in one place and the CLI prints their message. No framework imports here,
so the domain stays pure.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a caller can cause and understand: a machine code, a message, an HTTP status."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra


class InvalidInput(AppError):
    """The request is well-formed but a value in it is not acceptable."""

    status = 422
    code = "invalid_input"
    title = "Invalid input"


class Unauthenticated(AppError):
    """No valid credentials were presented."""

    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(AppError):
    """The caller is known but its role may not do this."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    """The resource does not exist, or the caller may not know that it exists."""

    status = 404
    code = "not_found"
    title = "Not found"


class Gone(AppError):
    """The resource existed and is gone for good (an erased resident's data)."""

    status = 410
    code = "gone"
    title = "Gone"


class Conflict(AppError):
    """The request conflicts with the current state of the resource."""

    status = 409
    code = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    """The work order's current state does not allow this command."""

    code = "invalid_transition"
    title = "Not allowed in the current state"


class ConcurrencyConflict(Conflict):
    """Another writer appended to the same stream first; re-read and retry."""

    code = "concurrency_conflict"
    title = "Concurrent modification"


class PreconditionFailed(AppError):
    """An `If-Match` version no longer matches the resource."""

    status = 412
    code = "stale_version"
    title = "Precondition failed"


class PayloadTooLarge(AppError):
    """The request body is over the configured limit."""

    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class Unavailable(AppError):
    """A dependency (database, NATS) is not reachable or too busy right now; retry later.

    `retry_after` is the number of seconds a client should wait before retrying; it is
    sent as the `Retry-After` header.
    """

    status = 503
    code = "unavailable"
    title = "Service unavailable"

    def __init__(
        self, message: str, *, retry_after: int = 5, code: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message, code=code, **extra)
        self.retry_after = retry_after
