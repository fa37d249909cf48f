"""stored first results of keyed commands are pruned by age: an index on their time

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

The `idempotency-key-retention` loop deletes the records older than
`IDEMPOTENCY_KEY_DAYS`, oldest first, by this index. The start's migration builds it in
its transaction, holding keyed commands back meanwhile; on a large store an operator
builds it beforehand (`CREATE INDEX CONCURRENTLY`, docs/operations.md), and this
migration then finds it there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_idempotency_keys_created_at",
        "idempotency_keys",
        ["created_at"],
        unique=False,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
