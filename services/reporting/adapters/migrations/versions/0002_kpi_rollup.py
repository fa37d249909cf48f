"""KPI pre-aggregation: per-sample rows, hour and day roll-up and measures, an index for open orders; notification outcomes

The KPI tables are filled from the orders already projected (every generation), so an
upgraded service answers from them at once. Notification events projected before the
upgrade were not kept: `wo reporting rebuild` folds them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_BACKFILL_CHUNK = 2000


def upgrade() -> None:
    op.create_index("ix_rp_orders_status", "rp_orders", ["generation", "tenant", "status"])
    op.create_table(
        "rp_kpi_samples",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("kpi", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("hit", sa.Boolean(), nullable=True),
        sa.Column("measure", sa.Double(), nullable=True),
        sa.Column("label", sa.String(length=40), nullable=True),
        sa.Column("band", sa.Integer(), nullable=True),
        sa.Column("building", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("technician", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("generation", "order_id", "kpi", "position"),
    )
    op.create_index(
        "ix_rp_kpi_samples_period",
        "rp_kpi_samples",
        ["generation", "tenant", "kpi", "project", "at"],
    )
    op.create_table(
        "rp_kpi_measures",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("kpi", sa.String(length=40), nullable=False),
        sa.Column("band", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("span", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("measure", sa.Double(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "generation", "tenant", "kpi", "band", "span", "project", "slot", "measure"
        ),
    )
    op.create_table(
        "rp_kpi_rollup",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("span", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kpi", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("hit", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("band", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "generation", "tenant", "span", "project", "slot", "kpi", "label", "hit", "band"
        ),
    )
    op.create_table(
        "rp_notification_events",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stream_id", sa.String(length=160), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("work_order_id", sa.String(length=200), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("generation", "stream_id", "sequence"),
    )
    op.create_index(
        "ix_rp_notification_events_period",
        "rp_notification_events",
        ["generation", "tenant", "project", "at"],
    )
    op.create_index(
        "ix_rp_notification_events_order",
        "rp_notification_events",
        ["generation", "work_order_id"],
    )
    _backfill()


def _backfill() -> None:
    # The projector's own write path, so the rows are exactly what it would have written.
    from services.reporting.adapters.samples import write_samples
    from services.reporting.domain.facts import OrderFacts

    conn = op.get_bind()
    orders = sa.table(
        "rp_orders", sa.column("generation"), sa.column("order_id"), sa.column("facts")
    )
    last: tuple[int, str] = (-1, "")
    while True:
        rows = conn.execute(
            sa.select(orders.c.generation, orders.c.order_id, orders.c.facts)
            .where(sa.tuple_(orders.c.generation, orders.c.order_id) > sa.tuple_(*last))
            .order_by(orders.c.generation, orders.c.order_id)
            .limit(_BACKFILL_CHUNK)
        ).all()
        if not rows:
            return
        for gen in sorted({r.generation for r in rows}):
            write_samples(
                conn,
                gen,
                [
                    (None, OrderFacts.from_json(orjson.loads(r.facts)))
                    for r in rows
                    if r.generation == gen
                ],
            )
        last = (rows[-1].generation, rows[-1].order_id)


def downgrade() -> None:
    op.drop_table("rp_notification_events")
    op.drop_table("rp_kpi_measures")
    op.drop_table("rp_kpi_rollup")
    op.drop_table("rp_kpi_samples")
    op.drop_index("ix_rp_orders_status", table_name="rp_orders")
