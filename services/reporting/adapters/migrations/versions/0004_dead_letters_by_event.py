"""Dead letters keyed by event id, with their tenant and project

They were unique by (consumer, stream sequence): after a stream loss sequences start
again, and a new dead letter at a sequence an old one had held was dropped. They are
now keyed by `event:<id>` (`body:<sha-256>` for a body that is no envelope), and carry
the tenant and project of their envelope so each tenant sees only its own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pydantic import ValidationError

from shared.consumer import dead_letter_key
from shared.envelope import Envelope

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_letters = sa.table(
    "rp_dead_letters",
    sa.column("id", sa.Integer),
    sa.column("consumer", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("letter_key", sa.String),
    sa.column("tenant", sa.String),
    sa.column("project", sa.String),
)


def _envelope(data: bytes) -> Envelope | None:
    try:
        return Envelope.from_json(data)
    except ValidationError:
        return None


def upgrade() -> None:
    with op.batch_alter_table("rp_dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("letter_key", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("tenant", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("project", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    seen: set[tuple[str, str]] = set()
    rows = conn.execute(
        sa.select(_letters.c.id, _letters.c.consumer, _letters.c.data).order_by(
            _letters.c.id.desc()
        )
    ).all()
    for row in rows:
        envelope = _envelope(row.data)
        key = dead_letter_key(envelope, row.data)
        # The same event recorded twice before it was keyed: the newest keeps the key.
        if (row.consumer, key) in seen:
            key = f"{key}#{row.id}"
        seen.add((row.consumer, key))
        conn.execute(
            sa.update(_letters)
            .where(_letters.c.id == row.id)
            .values(
                letter_key=key,
                tenant=envelope.tenant if envelope else None,
                project=envelope.project if envelope else None,
            )
        )
    with op.batch_alter_table("rp_dead_letters", schema=None) as batch_op:
        batch_op.alter_column("letter_key", existing_type=sa.String(length=80), nullable=False)
        batch_op.drop_index("ix_rp_dead_letters_seq")
        batch_op.create_index("ux_rp_dead_letters_key", ["consumer", "letter_key"], unique=True)
        batch_op.create_index("ix_rp_dead_letters_tenant", ["tenant", "id"], unique=False)


def downgrade() -> None:
    # Sequences may repeat by now (after a stream loss): the old unique index could not
    # be rebuilt over them, so it comes back as a plain index.
    with op.batch_alter_table("rp_dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_rp_dead_letters_tenant")
        batch_op.drop_index("ux_rp_dead_letters_key")
        batch_op.create_index(
            "ix_rp_dead_letters_seq", ["consumer", "stream_sequence"], unique=False
        )
        batch_op.drop_column("project")
        batch_op.drop_column("tenant")
        batch_op.drop_column("letter_key")
