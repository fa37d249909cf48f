"""idempotency keys belong to their caller: (tenant, subject, key)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Keys were shared by a whole tenant: anyone who sent a key someone else had used got that
caller's stored answer, and an honest second caller who picked the same key was refused.
A key is now the caller's own, as payment APIs scope theirs. The table is rebuilt (the
primary key changes, which SQLite cannot alter in place); each stored key gets the
subject of the command that stored it, read from its events' metadata (the `actor` of
the event that carries the key). A key none of whose events remain (none is ever
deleted) would get an empty subject and replay to nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("tenant", "key", "fingerprint", "stream_id", "status_code", "response", "created_at")


def _keys_table(name: str, *, with_subject: bool) -> sa.Table:
    caller = [sa.Column("subject", sa.String(length=255), nullable=False)] if with_subject else []
    primary = ("tenant", "subject", "key") if with_subject else ("tenant", "key")
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        *caller,
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("stream_id", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*primary, name=f"pk_{name}"),
    )


def upgrade() -> None:
    conn = op.get_bind()
    old = _keys_table("idempotency_keys", with_subject=False)
    stored = [dict(row) for row in conn.execute(sa.select(old)).mappings()]
    actors = _actors_of_keys(conn)
    op.drop_table("idempotency_keys")
    new = _keys_table("idempotency_keys", with_subject=True)
    new.create(conn)
    rows = [{**row, "subject": actors.get((row["stream_id"], row["key"]), "")} for row in stored]
    if rows:
        conn.execute(sa.insert(new), rows)


def _actors_of_keys(conn: sa.Connection) -> dict[tuple[str, str], str]:
    """(stream, key) -> the subject whose command appended the events carrying that key."""
    events = sa.table(
        "events", sa.column("stream_id", sa.String), sa.column("event_metadata", sa.JSON)
    )
    keys = sa.table("idempotency_keys", sa.column("stream_id", sa.String))
    streams = sa.select(keys.c.stream_id).distinct().scalar_subquery()
    query = sa.select(events.c.stream_id, events.c.event_metadata).where(
        events.c.stream_id.in_(streams)
    )
    found: dict[tuple[str, str], str] = {}
    for stream_id, metadata in conn.execute(query):
        meta: dict[str, Any] = metadata or {}
        if meta.get("idempotency_key"):
            found[(stream_id, meta["idempotency_key"])] = str(meta.get("actor", ""))
    return found


def downgrade() -> None:
    conn = op.get_bind()
    new = _keys_table("idempotency_keys", with_subject=True)
    stored = [dict(r) for r in conn.execute(sa.select(new).order_by(new.c.created_at)).mappings()]
    op.drop_table("idempotency_keys")
    old = _keys_table("idempotency_keys", with_subject=False)
    old.create(conn)
    # Two callers' same key cannot both stay: the first one stored keeps it.
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for row in stored:
        kept.setdefault((row["tenant"], row["key"]), {c: row[c] for c in _COLUMNS})
    if kept:
        conn.execute(sa.insert(old), list(kept.values()))
