"""notify: the outbox publisher's count of published events is kept per day

The publisher's stream check counted the `notify_outbox` rows marked published, a scan
of a table that only grows, and counted them all even when the stream has a max age:
once the stream had dropped notify's oldest events, the check found them missing and
republished the whole outbox. `notify_outbox_published` holds the count per UTC day,
added to as each settlement marks its rows, and the check sums the days the stream
still keeps; the upgrade counts the rows already published into it, once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from shared.published_counts import create_published_counts

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_published_counts("notify_outbox_published", "notify_outbox", "published_at IS NOT NULL")


def downgrade() -> None:
    op.drop_table("notify_outbox_published")
