"""sla timers: partial indexes for the unclaimed and the claimed timers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

`WHERE claimed_until IS NULL ORDER BY fires_at LIMIT 1` went through the index on
`claimed_until`, which matches every unclaimed row, and sorted them: 70 ms with 800,000
rows on SQLite, on every wake-up of the scheduler. Two partial indexes replace it: on
`fires_at` over the unclaimed rows (that look-up, in order) and on `claimed_until` over
the few claimed rows (the earliest claim end). The second also keeps SQLite's planner
from preferring an equality match on `claimed_until` for the first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNCLAIMED = sa.text("claimed_until IS NULL")
CLAIMED = sa.text("claimed_until IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_sla_timers_claimed_until", table_name="sla_timers")
    op.create_index(
        "ix_sla_timers_claimed",
        "sla_timers",
        ["claimed_until"],
        unique=False,
        sqlite_where=CLAIMED,
        postgresql_where=CLAIMED,
    )
    op.create_index(
        "ix_sla_timers_unclaimed",
        "sla_timers",
        ["fires_at"],
        unique=False,
        sqlite_where=UNCLAIMED,
        postgresql_where=UNCLAIMED,
    )


def downgrade() -> None:
    op.drop_index("ix_sla_timers_unclaimed", table_name="sla_timers")
    op.drop_index("ix_sla_timers_claimed", table_name="sla_timers")
    op.create_index("ix_sla_timers_claimed_until", "sla_timers", ["claimed_until"], unique=False)
