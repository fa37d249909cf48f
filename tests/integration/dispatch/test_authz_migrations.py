"""Migrations 0008 and 0009: stored idempotency keys get their caller's subject; stored
policy versions stay tenant-wide."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import JSON, DateTime, Integer, String, column, insert, select, table
from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.migrate import MIGRATIONS
from shared.database import create_engine
from shared.migrations import alembic_config

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

OLD_KEYS = table(
    "idempotency_keys",
    column("tenant", String),
    column("key", String),
    column("fingerprint", String),
    column("stream_id", String),
    column("status_code", Integer),
    column("response", JSON),
    column("created_at", DateTime(timezone=True)),
)


OLD_POLICIES = table(
    "sla_policies",
    column("tenant", String),
    column("version", Integer),
    column("policy", JSON),
    column("created_at", DateTime(timezone=True)),
    column("created_by", String),
)


def _policy() -> dict[str, object]:
    return {"tenant": "acme", "version": 2, "policy": {}, "created_at": T0, "created_by": "pm"}


def _migrate(conn: Connection, revision: str, down: bool = False) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(config, revision)


def _event(stream: str, version: int, meta: dict[str, str]) -> dict[str, object]:
    return {
        "stream_id": stream,
        "version": version,
        "event_id": uuid.UUID(int=version),
        "type_name": "workorder.progress_reported",
        "schema_version": 1,
        "tenant": "acme",
        "project": "sunny",
        "occurred_at": T0,
        "recorded_at": T0,
        "data": {"note": "n"},
        "event_metadata": {"correlation_id": "c", **meta},
    }


def _key(key: str, stream: str) -> dict[str, object]:
    return {
        "tenant": "acme",
        "key": key,
        "fingerprint": "fp",
        "stream_id": stream,
        "status_code": 200,
        "response": {"id": stream},
        "created_at": T0,
    }


async def test_stored_keys_get_their_callers_subject_and_come_back_on_downgrade(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_migrate, "0007")
        await conn.execute(
            insert(t.events),
            [
                _event("wo-1", 1, {"actor": "cs-li", "idempotency_key": "k-1"}),
                _event("wo-1", 2, {"actor": "tech-wang", "idempotency_key": "k-2"}),
            ],
        )
        await conn.execute(insert(OLD_KEYS), [_key("k-1", "wo-1"), _key("k-2", "wo-1")])
        await conn.execute(insert(OLD_POLICIES), [_policy()])
        await conn.run_sync(_migrate, "head")
        c = t.idempotency_keys.c
        upgraded = (await conn.execute(select(c.subject, c.key).order_by(c.key))).all()
        scopes = (await conn.execute(select(t.sla_policies.c.projects))).scalars().all()
        await conn.run_sync(_migrate, "0007", True)
        downgraded = (await conn.execute(select(OLD_KEYS.c.key).order_by(OLD_KEYS.c.key))).all()
        await conn.run_sync(_migrate, "head")
    await engine.dispose()

    assert [tuple(row) for row in upgraded] == [("cs-li", "k-1"), ("tech-wang", "k-2")]
    assert [row[0] for row in downgraded] == ["k-1", "k-2"]
    # Versions published before scopes existed stay tenant-wide (0009).
    assert scopes == [None]
