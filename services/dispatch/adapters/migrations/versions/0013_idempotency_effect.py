"""idempotency keys keep what the first command did (`effect`), not an HTTP status

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The service layer answers with what a command did (created a stream, applied to one);
the HTTP entrypoint chooses the status. A key's first result is stored the same way, so
the stored `status_code` becomes `effect`: 201 was a creation, every other stored status
(200) an application. A replay of a row stored before this revision answers exactly as
it did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = sa.table(
    "idempotency_keys",
    sa.column("status_code", sa.Integer()),
    sa.column("effect", sa.String()),
)


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("effect", sa.String(length=16), nullable=True))
    created = sa.case((_KEYS.c.status_code == 201, "created"), else_="applied")
    op.execute(sa.update(_KEYS).values(effect=created))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("effect", existing_type=sa.String(length=16), nullable=False)
        batch.drop_column("status_code")


def downgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("status_code", sa.Integer(), nullable=True))
    status = sa.case((_KEYS.c.effect == "created", 201), else_=200)
    op.execute(sa.update(_KEYS).values(status_code=status))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("status_code", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("effect")
