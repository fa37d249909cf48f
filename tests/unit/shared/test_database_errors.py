"""Driver errors become the caller's answer: 422 for a refused value, 503 when busy or down."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from shared.database_errors import Fault, Outage, fault_of
from shared.http.problems import install_problem_handlers


class PgError(Exception):
    """A PostgreSQL driver error as the asyncpg adapter raises it: with its SQLSTATE."""

    def __init__(self, sqlstate: str, message: str = "driver text") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def sqlite_error(name: str) -> sqlite3.Error:
    error = sqlite3.OperationalError("driver text")
    error.sqlite_errorname = name
    return error


def executing(orig: BaseException, **kw: Any) -> sa_exc.DBAPIError:
    """`orig` as SQLAlchemy raises it from a statement."""
    return sa_exc.DBAPIError("INSERT INTO t VALUES (?)", ("secret value",), orig, **kw)


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (OverflowError("Python int too large to convert to SQLite INTEGER"), Fault.REFUSED_VALUE),
        (executing(PgError("22021")), Fault.REFUSED_VALUE),  # NUL in text
        (executing(PgError("22003")), Fault.REFUSED_VALUE),  # number out of range
        (executing(PgError("22000")), Fault.REFUSED_VALUE),  # asyncpg: past int64
        (executing(PgError("55P03")), Fault.BUSY),  # lock timeout
        (executing(PgError("40001")), Fault.BUSY),  # serialization failure
        (executing(PgError("40P01")), Fault.BUSY),  # deadlock
        (executing(PgError("57P01")), Fault.DOWN),  # terminated by the administrator
        (executing(PgError("08006")), Fault.DOWN),  # connection failure
        (sa_exc.DBAPIError(None, None, PgError("55000")), Fault.DOWN),  # refused to connect
        (executing(PgError("42P01")), None),  # a missing table is a bug
        (executing(Exception("closed"), connection_invalidated=True), Fault.DOWN),
        (executing(sqlite_error("SQLITE_BUSY_SNAPSHOT")), Fault.BUSY),
        (executing(sqlite_error("SQLITE_IOERR_WRITE")), Fault.DOWN),
        (executing(sqlite_error("SQLITE_TOOBIG")), Fault.REFUSED_VALUE),
        (executing(sqlite_error("SQLITE_ERROR")), None),
        (sa_exc.OperationalError(None, None, ConnectionRefusedError()), Fault.DOWN),
        (sa_exc.TimeoutError("QueuePool limit reached"), Fault.BUSY),
        (KeyError("x"), None),
    ],
)
def test_each_driver_error_is_one_fault_or_a_bug(error: BaseException, fault: Fault | None) -> None:
    assert fault_of(error) is fault


def test_an_outage_is_noted_once_until_a_connection_succeeds() -> None:
    outage = Outage("postgresql://db")
    down = sa_exc.DBAPIError(None, None, PgError("55000"))

    changes = []
    for event in ("down", "down", "busy", "up", "up", "down"):
        before = outage.is_down
        if event == "down":
            outage.down(down)
        elif event == "busy":
            outage.down(executing(PgError("55P03")))
        else:
            outage.up()
        changes.append(outage.is_down != before)

    assert changes == [True, False, False, True, False, True]


ROUTES: dict[str, BaseException] = {
    "/refused": OverflowError("Python int too large to convert to SQLite INTEGER"),
    "/busy": executing(PgError("55P03", "canceling statement due to lock timeout")),
    "/down": sa_exc.DBAPIError(None, None, PgError("55000", 'database "wo" is not accepting')),
    "/bug": executing(PgError("42P01", 'relation "t" does not exist')),
}


def raising(error: BaseException) -> Callable[[], Awaitable[None]]:
    async def fail() -> None:
        raise error

    return fail


def failing_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    for path, error in ROUTES.items():
        app.add_api_route(path, raising(error), methods=["POST"])
    return app


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/refused", 422, "unstorable_value"),
        ("/busy", 503, "database_busy"),
        ("/down", 503, "database_unavailable"),
        ("/bug", 500, "internal_error"),
    ],
)
async def test_database_errors_are_answered_as_problems_without_driver_text(
    path: str, status: int, code: str
) -> None:
    transport = httpx.ASGITransport(app=failing_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.post(path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert ("Retry-After" in response.headers) is (status == 503)
    driver_texts = ("SQLite INTEGER", "lock timeout", "not accepting", "secret value", "exist")
    assert not [text for text in driver_texts if text in response.text]
