"""public-holiday schedules loaded per year (调休): a tenant's own, or the operator's for all

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

The `holidays` package knows a year's make-up working days only from its release after
the State Council's notice. A tenant (`PUT /v1/public-holidays/{year}`) or the operator
for every tenant (`wo sla holidays load --all-tenants`, scope "*") loads the published
schedule; the calendars of the SLA clocks follow it for that year.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_holidays",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("loaded_by", sa.String(length=128), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "year"),
    )


def downgrade() -> None:
    op.drop_table("public_holidays")
