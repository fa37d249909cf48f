"""RFC 9457 problem details: the one place errors become HTTP responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.database_errors import storage_answer
from shared.errors import AppError, Unauthenticated, Unavailable
from shared.logging import get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        default="about:blank", examples=["https://workorders.dev/problems/invalid_transition"]
    )
    title: str
    status: int
    code: str = Field(description="Machine-readable error code")
    detail: str = Field(description="Human-readable explanation")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem-details response."""
    body = {
        "type": f"https://workorders.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


BEARER_REALM = 'Bearer realm="workorders"'


def _challenge(exc: AppError) -> dict[str, str] | None:
    # RFC 6750 section 3: a 401 names the scheme; a token that was sent but refused
    # also says invalid_token, so a client knows to get a new one.
    if not isinstance(exc, Unauthenticated):
        return None
    if exc.code == "missing_token":
        return {"WWW-Authenticate": BEARER_REALM}
    return {"WWW-Authenticate": f'{BEARER_REALM}, error="invalid_token"'}


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return _answer(exc)


def _headers(exc: AppError) -> dict[str, str] | None:
    # A 401 names its scheme (`WWW-Authenticate`); a 503 says when to come back.
    if isinstance(exc, Unavailable):
        return {"Retry-After": str(exc.retry_after)}
    return _challenge(exc)


def _answer(exc: AppError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.title, exc.message, headers=_headers(exc), **exc.extra)


async def _storage_error(request: Request, exc: Exception) -> JSONResponse:
    # A database error that reached the edge: a refused value (422) or a busy or down
    # database (503) is the caller's answer; anything else is a bug. Answered here, not
    # by the catch-all below, which re-raises and so logs a traceback per request.
    answer = storage_answer(exc)
    if answer is None:
        return _internal_error(request)
    return _answer(answer)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(
            400,
            "malformed_json",
            "Malformed JSON",
            "the request body is not valid JSON",
            errors=errors,
        )
    summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(422, "validation_failed", "Validation failed", summary, errors=errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    # Starlette's headers are kept: a 405 carries `Allow`.
    return problem(exc.status_code, code, str(exc.detail), str(exc.detail), headers=exc.headers)


_HTTP_CODES = {
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


async def _unexpected(request: Request, _exc: Exception) -> JSONResponse:
    return _internal_error(request)


def _internal_error(request: Request) -> JSONResponse:
    log.exception("http.unhandled_error", path=request.url.path)
    return problem(
        500, "internal_error", "Internal error", "an unexpected error occurred; it has been logged"
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to a problem-details body; never a stack trace."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _storage_error)
    # sqlite3 refuses an integer past 64 bits with a bare OverflowError.
    app.add_exception_handler(OverflowError, _storage_error)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"
"""Where every document holds the `Problem` schema (`shared.http.app` puts it there)."""

_PROBLEM_HEADERS: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "WWW-Authenticate": {
            "description": f'`{BEARER_REALM}`, with `error="invalid_token"` for a token '
            "that was sent but refused.",
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    },
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    # The schema sits under the media type errors are really sent as; FastAPI's `model`
    # would file it under application/json, which no error is answered with.
    status: {
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        "description": text,
        **({"headers": _PROBLEM_HEADERS[status]} if status in _PROBLEM_HEADERS else {}),
    }
    for status, text in {
        400: "Malformed request",
        401: "Missing or invalid bearer token",
        403: "Role not allowed",
        404: "Not found (or not visible to the caller)",
        409: "Conflict with the current state or a concurrent write",
        412: "If-Match version is stale",
        413: "Body too large",
        422: "Validation failed, or a value the database cannot store",
        503: "A dependency (database, message bus) is busy or down; retry after `Retry-After` seconds",
    }.items()
}
"""Documented error responses for OpenAPI."""


def event_stream(description: str) -> dict[int | str, dict[str, Any]]:
    """The documented 200 of a server-sent-events route."""
    return {
        200: {
            "description": description,
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    }
