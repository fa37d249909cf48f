"""notify: dead letters keyed by event id; no robot or webhook credential in any row

A URL-based delivery's `address` becomes the contact's id (the URL, with the WeCom
`key=`, DingTalk `access_token=` or token in it, stays in the configuration), URLs in
errors are redacted, and a dead letter gets the key it is recorded under: `event:<id>`,
`body:<sha-256>` or `delivery:<id>`, never the stream sequence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:40:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pydantic import ValidationError

from shared.envelope import Envelope
from shared.redact import redact_text, validation_summary

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_URL_CHANNELS = ("webhook", "wecom", "dingtalk", "feishu")

_deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.String),
    sa.column("recipient", sa.String),
    sa.column("channel", sa.String),
    sa.column("address", sa.String),
    sa.column("last_error", sa.Text),
)
_dead_letters = sa.table(
    "dead_letters",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("tenant", sa.String),
    sa.column("event_id", sa.String),
    sa.column("delivery_id", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("error", sa.Text),
    sa.column("letter_key", sa.String),
)


def _key(row: sa.Row[tuple[object, ...]]) -> str:
    if row.kind == "delivery":
        return f"delivery:{row.delivery_id}"
    if row.event_id:
        return f"event:{row.event_id}"
    return f"body:{hashlib.sha256(row.data or b'').hexdigest()}"


def _error(row: sa.Row[tuple[object, ...]]) -> str:
    # A body that was no envelope had its whole validation error, values included
    # (a resident's name, phone), kept as its error: say which fields failed, not what.
    if row.kind == "event" and row.tenant is None:
        try:
            Envelope.from_json(row.data or b"")
        except ValidationError as exc:
            return f"not a valid event envelope: {validation_summary(exc)}"
    return redact_text(str(row.error))


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("letter_key", sa.String(length=80), nullable=True))
    seen: set[str] = set()
    rows = conn.execute(sa.select(_dead_letters).order_by(_dead_letters.c.id.desc())).all()
    for row in rows:
        key = _key(row)
        # The same event recorded twice before it was keyed: the newest keeps the key.
        if key in seen:
            key = f"{key}#{row.id}"
        seen.add(key)
        conn.execute(
            sa.update(_dead_letters)
            .where(_dead_letters.c.id == row.id)
            .values(letter_key=key, error=_error(row))
        )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.alter_column("letter_key", existing_type=sa.String(length=80), nullable=False)
        batch_op.create_index("ux_dead_letters_key", ["letter_key"], unique=True)

    d = _deliveries
    conn.execute(
        sa.update(d)
        .where(d.c.channel.in_(_URL_CHANNELS), d.c.recipient.like("person:%"))
        .values(address=sa.func.substr(d.c.recipient, len("person:") + 1))
    )
    for row in conn.execute(
        sa.select(d.c.id, d.c.last_error).where(d.c.last_error.like("%://%"))
    ).all():
        conn.execute(
            sa.update(d).where(d.c.id == row.id).values(last_error=redact_text(row.last_error))
        )


def downgrade() -> None:
    # The addresses and errors stay redacted: the credentials they held are not kept.
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ux_dead_letters_key")
        batch_op.drop_column("letter_key")
