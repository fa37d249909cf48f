"""work-order numbers: the per-project daily counter and the listing's `number`

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Every new work order gets a number people can read (SG-20261201-0042), allocated from
`work_order_counters` in the report's own transaction. The listing keeps it to find an
order by number (`GET /v1/work-orders?number=`); orders reported before this revision
have none (their events carry none either), so nothing is filled in.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_order_counters",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.add_column("work_orders", sa.Column("number", sa.String(64), nullable=True))
    op.create_index(
        "ux_work_orders_number", "work_orders", ["tenant", "number", "project"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_work_orders_number", table_name="work_orders")
    op.drop_column("work_orders", "number")
    op.drop_table("work_order_counters")
