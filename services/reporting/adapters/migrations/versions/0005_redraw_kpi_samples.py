"""KPI samples redrawn from the projected facts: repair timeliness and satisfaction were redefined

Repair timeliness now fails a repair at its first breach, open or not, and satisfaction
counts each order's last rating (docs/kpis.md). The per-sample rows, the roll-up and the
measures were drawn under the old definitions, and the projector subtracts an order's
samples as the current code draws them, so the rows are dropped and drawn again from
every order's facts (which hold everything both definitions need: no replay of the
stream). It takes about as long as the projector drawing every order once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 2000


def _redraw() -> None:
    # The projector's own write path, so the rows are exactly what it would have written.
    from services.reporting.adapters.samples import sample_orders

    conn = op.get_bind()
    for table in ("rp_kpi_samples", "rp_kpi_rollup", "rp_kpi_measures"):
        conn.execute(sa.delete(sa.table(table)))
    orders = sa.table("rp_orders", sa.column("generation"))
    generations = conn.execute(sa.select(orders.c.generation).distinct()).scalars()
    for generation in sorted(generations):
        after = ""
        while drawn := sample_orders(conn, generation, after, _CHUNK):
            after = drawn[-1].order_id


def upgrade() -> None:
    _redraw()


def downgrade() -> None:
    # The schema is unchanged; the rows are redrawn by the definitions of the code that
    # runs the downgrade, which is the code that will project next.
    _redraw()
