"""read model: orders, projects, positions, pending buffer, checkpoints, dead letters

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rp_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("switched_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO rp_generation (id, current) VALUES (1, 1)")
    op.create_table(
        "rp_orders",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reported_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "order_id"),
    )
    op.create_index(
        "ix_rp_orders_scope", "rp_orders", ["generation", "tenant", "project", "updated_at"]
    )
    op.create_table(
        "rp_projects",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "tenant", "project"),
    )
    op.create_table(
        "rp_positions",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stream_id", sa.String(length=160), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "stream_id"),
    )
    op.create_table(
        "rp_pending",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stream_id", sa.String(length=160), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("generation", "stream_id", "sequence"),
    )
    op.create_table(
        "rp_checkpoints",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("stream_sequence", sa.Integer(), nullable=False),
        sa.Column("events_applied", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("generation", "consumer"),
    )
    op.create_table(
        "rp_dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("stream_sequence", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("stream_id", sa.String(length=160), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("num_delivered", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rp_dead_letters_seq",
        "rp_dead_letters",
        ["consumer", "stream_sequence"],
        unique=True,
    )


def downgrade() -> None:
    for table in (
        "rp_dead_letters",
        "rp_checkpoints",
        "rp_pending",
        "rp_positions",
        "rp_projects",
        "rp_orders",
        "rp_generation",
    ):
        op.drop_table(table)
