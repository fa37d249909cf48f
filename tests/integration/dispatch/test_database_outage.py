"""A PostgreSQL outage: 503 problem+json with Retry-After, one log line, and recovery."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared import database_errors
from shared.auth import Role
from shared.http import problems
from tests.conftest import FreshPostgresDatabase
from tests.integration.dispatch.api_support import Api, auth, report_body, running_api

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="takes a PostgreSQL database offline"
)

PROBLEM = "application/problem+json"


async def _allow_connections(url: str, allowed: bool) -> None:
    """Open or close the database to new connections; closing also ends the open ones."""
    name = make_url(url).database
    admin = create_async_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(
            f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}'
        )
        if not allowed:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
    await admin.dispose()


async def _report(api: Api) -> int:
    response = await api.client.post(
        "/v1/work-orders", json=report_body(), headers=auth(Role.CUSTOMER_SERVICE)
    )
    return response.status_code


class Lines:
    """Stands in for a module's logger: keeps the events logged, by level."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        def logged(event: str, *_: Any, **__: Any) -> None:
            self.events.append((level, event))

        return logged

    def count(self, event: str) -> int:
        return sum(1 for _, logged in self.events if logged == event)


async def test_an_outage_answers_503_logs_once_and_recovers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = Lines()
    monkeypatch.setattr(database_errors, "log", lines)
    monkeypatch.setattr(problems, "log", lines)
    async with FreshPostgresDatabase() as url, running_api(url) as api:
        order = await api.report()
        await _allow_connections(url, False)
        try:
            lines.events.clear()
            answers = [
                *[
                    await api.client.post(
                        "/v1/work-orders", json=report_body(), headers=auth(Role.CUSTOMER_SERVICE)
                    )
                    for _ in range(3)
                ],
                *[
                    await api.client.get(
                        f"/v1/work-orders/{order['id']}", headers=auth(Role.SUPERVISOR)
                    )
                    for _ in range(3)
                ],
            ]
            ready = await api.client.get("/readyz")
            during = list(lines.events)
            lines.events.clear()
        finally:
            await _allow_connections(url, True)

        recovered = await _report(api)
        back = await api.client.get("/readyz")

    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["code"] == "database_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "unavailable"}
    assert during == [("error", "database.unavailable")]
    assert recovered == 201
    assert back.status_code == 200
    assert lines.count("database.recovered") == 1
