"""notify: the development outbox (what SMS and e-mail would have sent, on a local stack)

With `ENVIRONMENT=development`, SMS without a provider and e-mail without an SMTP host
deliver here instead of being left out, so the console can show what residents received.
Production never writes to it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.sqltypes import BigIntPK, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_dev_outbox",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(36), nullable=False, unique=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body_text", sa.Text, nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("work_order_id", sa.String(128), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_dev_outbox_order", "notify_dev_outbox", ["tenant", "work_order_id", "id"])
    op.create_index("ix_dev_outbox_address", "notify_dev_outbox", ["tenant", "address", "id"])


def downgrade() -> None:
    op.drop_table("notify_dev_outbox")
