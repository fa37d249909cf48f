"""Migration 0013: a key's first result is stored as what the command did (`effect`), and
a row stored before it, with an HTTP status, replays the same HTTP answer after it."""

from __future__ import annotations

from typing import Any

import httpx
from alembic import command
from sqlalchemy import Integer, column, delete, insert, select, table
from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.migrate import MIGRATIONS
from shared.auth import Role
from shared.database import create_engine
from shared.migrations import alembic_config
from tests.integration.dispatch.api_support import Api, auth, report_body, running_api

OLD_KEYS = table(
    "idempotency_keys",
    *(column(c.name, c.type) for c in t.idempotency_keys.c if c.name != "effect"),
    column("status_code", Integer),
)
"""`idempotency_keys` as revisions 0008 to 0012 left it: the HTTP status, not the effect."""


def _migrate(conn: Connection, revision: str, down: bool = False) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


def _keyed(role: Role, subject: str, key: str) -> dict[str, str]:
    return {**auth(role, subject=subject), "Idempotency-Key": key}


REPORT_KEY = _keyed(Role.CUSTOMER_SERVICE, "cs-li", "call-1")
ASSIGN_KEY = _keyed(Role.DISPATCHER, "dispatcher-1", "assign-1")


async def _send(api: Api) -> tuple[httpx.Response, httpx.Response]:
    """Report with key `call-1`, then assign the order with key `assign-1` (a replay of the
    report answers the same order, so the same assignment follows it)."""
    reported = await api.client.post("/v1/work-orders", json=report_body(), headers=REPORT_KEY)
    assigned = await api.client.post(
        f"/v1/work-orders/{reported.json()['id']}/assign",
        json={"assignee": "tech-wang"},
        headers=ASSIGN_KEY,
    )
    return reported, assigned


async def test_a_key_stored_with_an_http_status_replays_the_same_answer_after_0013(
    database_url: str,
) -> None:
    async with running_api(database_url) as api:
        first_report, first_assign = await _send(api)
        events = await api.event_count()
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        stored = (await conn.execute(select(t.idempotency_keys))).mappings().all()
        await conn.run_sync(_migrate, "0012", True)
        # Rewrite the rows as the code before 0013 wrote them: the HTTP status it answered.
        await conn.execute(delete(OLD_KEYS))
        answered = {"call-1": first_report, "assign-1": first_assign}
        old_rows: list[dict[str, Any]] = [
            {
                **{name: row[name] for name in row if name not in ("effect", "response")},
                "status_code": answered[row["key"]].status_code,
                "response": answered[row["key"]].json(),
            }
            for row in stored
        ]
        await conn.execute(insert(OLD_KEYS), old_rows)
        await conn.run_sync(_migrate, "head")
        keys = t.idempotency_keys.c
        effects = dict((await conn.execute(select(keys.key, keys.effect))).all())
    await engine.dispose()

    async with running_api(database_url, register_projects=False) as api:
        again_report, again_assign = await _send(api)
        events_after = await api.event_count()

    assert effects == {"call-1": "created", "assign-1": "applied"}
    for first, again in ((first_report, again_report), (first_assign, again_assign)):
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers.get("Location") == first.headers.get("Location")
        assert again.headers["Idempotent-Replayed"] == "true"
    assert (first_report.status_code, first_assign.status_code) == (201, 200)
    assert events_after == events


async def test_0013_downgrades_to_the_http_status_each_effect_was_answered_with(
    database_url: str,
) -> None:
    async with running_api(database_url) as api:
        reported, assigned = await _send(api)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_migrate, "0012", True)
        c = OLD_KEYS.c
        statuses = dict((await conn.execute(select(c.key, c.status_code))).all())
        await conn.run_sync(_migrate, "head")
    await engine.dispose()

    assert statuses == {"call-1": reported.status_code, "assign-1": assigned.status_code}
