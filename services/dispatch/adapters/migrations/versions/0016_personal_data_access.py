"""the access log of residents' personal data: who saw whose data, which fields, why

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

`personal_data_access` holds one row per clear view of a resident's name, phone or unit
(the reporter fields of a work order): the viewer's subject and role, the resident's
reference (or the work order when they have none), the fields, the API call and when.
It starts empty: reads answered before it were not logged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "personal_data_access"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("resident", sa.String(length=128), nullable=True),
        sa.Column("work_order_id", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_personal_data_access_tenant", TABLE, ["tenant", "id"])
    op.create_index("ix_personal_data_access_resident", TABLE, ["tenant", "resident", "id"])
    op.create_index("ix_personal_data_access_subject", TABLE, ["tenant", "subject", "id"])
    op.create_index("ix_personal_data_access_at", TABLE, ["at"])


def downgrade() -> None:
    op.drop_table(TABLE)
