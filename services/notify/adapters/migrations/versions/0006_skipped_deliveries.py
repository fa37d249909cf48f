"""notify: why a delivery was skipped (`deliveries.status_reason`)

A delivery to a resident who was erased ends `skipped` with reason `resident_erased`
(and, for one recorded before residents had references, `no_resident_reference`): never
sent, never retried. Rows written before have no reason (NULL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:30:00
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
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("status_reason", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("status_reason")
