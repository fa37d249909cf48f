"""notify: which claim holds a delivery being sent (`deliveries.lease_token`)

Several notify processes send from one database. A claim leases due rows for
`SENDER_LEASE_SECONDS` under a token of its own; a send's outcome is recorded only while
its claim still holds the row, so a claim whose lease ran out (and whose row another
process claimed since) cannot overwrite that process's outcome or publish a second event
of the same sequence. Rows written before hold no token (NULL): none is being sent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lease_token", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_token")
