"""notify: contacts, roles, routes and policies in the database, per tenant

The configuration file becomes an import (`wo notify config import`, and
`NOTIFY_CONFIG_FILE` at start for tenants the database does not hold yet); the running
service reads and edits the configuration here.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.sqltypes import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_tenant_configs",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_tenant_configs")
