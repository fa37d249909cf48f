"""orders keep their number (SG-20261201-0042) from the report event

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Drill-downs and breach lists show the number people read beside the id. Orders already
in the read model were reported before dispatch numbered orders, so their events carry
no number and the column stays empty for them; `reporting rebuild` replays the events
and fills it for every order whose report has one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rp_orders", sa.Column("number", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("rp_orders", "number")
