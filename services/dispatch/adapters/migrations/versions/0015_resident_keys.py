"""residents' data keys, wrapped by the master key, destroyed on erasure (crypto-shredding)

Revision ID: 0015
Revises: 0013 on this branch; 0014 (the residents' blind index) once both are merged
Create Date: 2026-12-02

`resident_keys` holds each (tenant, subject, generation)'s data key wrapped under the
master key named by `wrapping_key_id`, never in clear. Erasure sets `wrapped_key` to NULL
and `destroyed_at`; the row stays, so the generation is never given again and the
erasure can be shown. Nothing writes it yet: the table starts empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resident_keys",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("wrapping_key_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "subject", "generation"),
    )


def downgrade() -> None:
    op.drop_table("resident_keys")
