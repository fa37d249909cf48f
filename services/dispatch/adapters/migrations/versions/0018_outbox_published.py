"""the relay's count of published events is kept per day as rows are marked

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

The relay's stream check counted the `outbox` rows marked published, a scan of a table
that grows by every event for ever. `outbox_published` holds that count per UTC day
(spread over a few rows per day), added to as each settlement marks its rows; the
upgrade counts the rows already published into it, once.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from shared.published_counts import create_published_counts

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_published_counts("outbox_published", "outbox", "status = 'published'")


def downgrade() -> None:
    op.drop_table("outbox_published")
