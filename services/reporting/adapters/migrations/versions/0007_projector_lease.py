"""the projector's lease: one reporting process projects, the others stand by

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Several reporting processes serve the API on one database; the one holding the lease
named after the projector's durable consumer runs the projector and renews the lease, a
standby takes it once it has expired. The projector's transactions check the lease, so
a process that lost it never writes beside the one that took it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.sqltypes import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rp_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rp_leases")
