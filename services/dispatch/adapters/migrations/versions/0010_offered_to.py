"""work-order list: who holds an open offer of each order (`offered_to`)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

A technician looks for the work waiting for their answer with
`GET /v1/work-orders?offered_to=<id>`. The listing row keeps the open offers' holders
as `,tech-a,tech-b,` (empty: none), so the filter is one `LIKE` on both databases.
Rows of orders offered before this revision are filled from their stored summary.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("work_orders", sa.Column("offered_to", sa.Text(), nullable=True))
    work_orders = sa.table(
        "work_orders",
        sa.column("id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("summary", sa.JSON()),
        sa.column("offered_to", sa.Text()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(work_orders.c.id, work_orders.c.summary).where(work_orders.c.status == "reported")
    ).all()
    for work_order_id, summary in rows:
        holders = (summary or {}).get("offered_to") or []
        if holders and not (summary or {}).get("assignee"):
            conn.execute(
                sa.update(work_orders)
                .where(work_orders.c.id == work_order_id)
                .values(offered_to="," + ",".join(holders) + ",")
            )


def downgrade() -> None:
    op.drop_column("work_orders", "offered_to")
