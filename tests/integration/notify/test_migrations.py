"""Migration 0002 takes the credentials out of rows written before it and keys dead letters."""

from __future__ import annotations

import uuid
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.notify.adapters.migrate import MIGRATIONS
from shared.database import Database, create_engine
from shared.migrations import alembic_config
from tests.unit.notify.builders import PROJECT, T0, TENANT

KEY = "wecom-key-7f3a9c2e51d4"
URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"


async def _migrate(database: Database, revision: str) -> None:
    def work(conn: Connection) -> None:
        config = alembic_config(MIGRATIONS)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)

    await database.run(work, write=True)


def _insert_old_rows(conn: Connection, event_id: str) -> None:
    conn.execute(
        text(
            "INSERT INTO deliveries (id, dedup_key, event_id, event_type, correlation_id, tenant, "
            "project, recipient, recipient_name, audience, channel, address, template, language, "
            "subject, body_text, body_html, urgent, alert, status, attempts, last_error, "
            "created_at, item_count, event_count) VALUES ('d-1', 'k-1', :event, "
            "'workorder.reported', 'c', :tenant, :project, 'person:wecom-team', 'Team', 'staff', "
            "'wecom', :url, 'reported_owner', 'zh-CN', 's', 't', 'h', false, false, 'dead', 1, "
            ":error, :at, 0, 1)"
        ),
        {
            "event": event_id,
            "tenant": TENANT,
            "project": PROJECT,
            "url": URL,
            "error": f"ConnectError posting to {URL}: refused",
            "at": T0,
        },
    )
    letters = [
        ("event", TENANT, event_id, None, b"{}", "OutOfOrder"),
        ("event", TENANT, event_id, None, b"{}", "OutOfOrder again"),
        ("event", None, None, None, b'{"name": "Zhang San", "phone": "13800000000"}', "x"),
        ("delivery", TENANT, event_id, "d-1", None, f"{URL} answered 500"),
    ]
    for kind, tenant, event, delivery, data, error in letters:
        conn.execute(
            text(
                "INSERT INTO dead_letters (kind, tenant, project, event_id, delivery_id, data, "
                "error, attempts, created_at) VALUES (:kind, :tenant, :project, :event, "
                ":delivery, :data, :error, 1, :at)"
            ),
            {
                "kind": kind,
                "tenant": tenant,
                "project": PROJECT if tenant else None,
                "event": event,
                "delivery": delivery,
                "data": data,
                "error": error,
                "at": T0,
            },
        )


def _rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "deliveries": [
            tuple(r) for r in conn.execute(text("SELECT address, last_error FROM deliveries"))
        ],
        "dead_letters": [
            tuple(r)
            for r in conn.execute(
                text("SELECT id, letter_key, error FROM dead_letters ORDER BY id")
            )
        ],
    }


async def test_0002_names_contacts_instead_of_urls_and_keys_dead_letters(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    database = Database(engine)
    event_id = str(uuid.uuid4())
    try:
        await _migrate(database, "0001")
        await database.run(_insert_old_rows, event_id, write=True)
        await _migrate(database, "head")
        rows = await database.run(_rows)
    finally:
        database.close()
        await engine.dispose()

    assert rows["deliveries"] == [
        ("wecom-team", "ConnectError posting to https://qyapi.weixin.qq.com/…: refused")
    ]
    keys = [key for _, key, _ in rows["dead_letters"]]
    assert keys[0] == f"event:{event_id}#1" and keys[1] == f"event:{event_id}"
    assert keys[2].startswith("body:") and keys[3] == "delivery:d-1"
    errors = [error for _, _, error in rows["dead_letters"]]
    assert errors[2].startswith("not a valid event envelope: ")
    assert "13800000000" not in errors[2] and "Zhang San" not in errors[2]
    assert KEY not in str(rows)
