"""SLA policy versions get a scope: the projects they govern (NULL: the whole tenant)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

A project manager of one project could publish a policy every project's new clocks
followed. A version's scope now follows its author's projects; only an author granted
every project publishes tenant-wide. Versions stored before were published tenant-wide
and stay so (NULL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sla_policies") as batch:
        batch.add_column(sa.Column("projects", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sla_policies") as batch:
        batch.drop_column("projects")
