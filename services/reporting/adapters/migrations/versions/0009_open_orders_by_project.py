"""the open orders' index holds the project: a project's backlog reads only its open orders

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

The backlog and at-risk figures read the open orders, through the index on (generation,
tenant, status). Asked for some projects, SQLite's planner preferred the scope index
(generation, tenant, project, ...) and read every order those projects ever had to find
the open ones: for a project of 30,000 closed orders, 63 ms of a 150 ms dashboard query.
With the project in the status index it seeks the open orders alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_rp_orders_status", table_name="rp_orders")
    op.create_index(
        "ix_rp_orders_status", "rp_orders", ["generation", "tenant", "status", "project"]
    )


def downgrade() -> None:
    op.drop_index("ix_rp_orders_status", table_name="rp_orders")
    op.create_index("ix_rp_orders_status", "rp_orders", ["generation", "tenant", "status"])
