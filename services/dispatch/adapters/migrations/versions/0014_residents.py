"""the residents' blind index: reported work orders by the keyed HMAC of their phone

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

`resident_reports` holds, per reported work order, the HMAC-SHA256 of its reporter's
normalised phone number under a key derived from `PRIVACY_MASTER_KEY`, never the number.
The migration cannot compute it (the key is configuration, not schema): the table starts
empty and dispatch fills it from the `workorder.reported` events already stored, on the
first resident search. `ix_events_stream_starts` (the first event of each stream, by
when it was recorded) lets that catch-up read only the reports it has not indexed yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resident_reports",
        sa.Column("work_order_id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("work_order_id"),
    )
    op.create_index(
        "ix_resident_reports_phone", "resident_reports", ["tenant", "phone_index"], unique=False
    )
    op.create_index(
        "ix_resident_reports_recorded", "resident_reports", ["recorded_at"], unique=False
    )
    op.create_index(
        "ix_events_stream_starts",
        "events",
        ["recorded_at"],
        unique=False,
        sqlite_where=sa.text("version = 1"),
        postgresql_where=sa.text("version = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_events_stream_starts", table_name="events")
    op.drop_index("ix_resident_reports_recorded", table_name="resident_reports")
    op.drop_index("ix_resident_reports_phone", table_name="resident_reports")
    op.drop_table("resident_reports")
