"""the residents' blind index names each report's resident by their reference

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

`resident_reports.subject` is the reporter's pseudonymous reference (`rsd_...`), the
subject their personal fields are sealed for: an erasure deletes a resident's rows by it,
and the resident search answers it. The index is now written with each report (the stored
event holds the phone masked and sealed, no longer in clear). Rows written before are
left with no subject until `wo dispatch rebuild-residents` (or the sealing of the stored
reports) derives them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resident_reports") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_resident_reports_subject", "resident_reports", ["tenant", "subject"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_resident_reports_subject", table_name="resident_reports")
    with op.batch_alter_table("resident_reports") as batch:
        batch.drop_column("subject")
