"""Which work orders may have running SLA clocks: what a policy preview measures.

A running clock has timers in the `sla_timers` table; a paused one has none, but its
order is still open. So the candidates are the open orders and any order with a timer
(a follow-up or reply clock keeps running after completion).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.workorder import OPEN_STATUSES
from services.dispatch.service_layer.sla_preview import ClockedOrder


async def clocked_orders(
    engine: AsyncEngine, tenant: str, projects: frozenset[str] | None, limit: int
) -> tuple[list[ClockedOrder], bool]:
    """Up to `limit` orders of `projects` (None: the whole tenant) that may have running
    clocks, oldest report first; and whether more were left out."""
    c = t.work_orders.c
    timed = select(t.sla_timers.c.work_order_id).where(t.sla_timers.c.tenant == tenant)
    where = [
        c.tenant == tenant,
        or_(c.status.in_(sorted(s.value for s in OPEN_STATUSES)), c.id.in_(timed)),
    ]
    if projects is not None:
        where.append(c.project.in_(sorted(projects)))
    query = (
        select(c.id, c.project, c.number)
        .where(*where)
        .order_by(c.reported_at, c.id)
        .limit(limit + 1)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    found = [ClockedOrder(r.id, r.project, r.number) for r in rows[:limit]]
    return found, len(rows) > limit
