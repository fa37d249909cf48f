"""The durable timer table (SLA clocks and offer expiries): next due, rebuilt from the events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.rows import timer_rows as table_rows
from services.dispatch.domain.sla import fold_sla
from services.dispatch.domain.workorder import fold
from services.dispatch.service_layer.assignment import offer_timer_rows
from services.dispatch.service_layer.sla import SlaPolicies, policies_for, timer_rows
from services.dispatch.service_layer.sla_views import BreachTimerRow
from shared.events.catalogue import parse

_c = t.sla_timers.c
# Both served by the (claimed_until, fires_at) index without a sort, however many timers
# wait: the scheduler asks after every commit.
NEXT_UNCLAIMED = (
    select(_c.fires_at).where(_c.claimed_until.is_(None)).order_by(_c.fires_at).limit(1)
)
NEXT_CLAIM_END = (
    select(_c.claimed_until)
    .where(_c.claimed_until.is_not(None))
    .order_by(_c.claimed_until)
    .limit(1)
)


async def next_fire_time(engine: AsyncEngine) -> datetime | None:
    """When the earliest pending timer may fire, if any; a claimed one once its claim ends."""
    async with engine.connect() as conn:
        first: datetime | None = await conn.scalar(NEXT_UNCLAIMED)
        released: datetime | None = await conn.scalar(NEXT_CLAIM_END)
    candidates = [value for value in (first, released) if value is not None]
    return min(candidates) if candidates else None


async def rebuild_sla_timers(store: SqlEventStore, policies: SlaPolicies) -> int:
    """Drop the timer table's rows and derive them again from every work order's events."""
    async with store.engine.connect() as conn:
        orders = (await conn.execute(select(t.work_orders.c.id, t.work_orders.c.tenant))).all()
    rows: list[dict[str, Any]] = []
    for work_order_id, tenant in orders:
        events = await store.load(work_order_id)
        history = [(parse(e.type_name, e.data), e.occurred_at) for e in events]
        sla = fold_sla(history)
        book = await policies_for(policies, tenant, events[0].project, sla)
        state = fold(history)
        assert state is not None
        pending = (*timer_rows(sla, book, work_order_id), *offer_timer_rows(state, work_order_id))
        rows += table_rows(work_order_id, tenant, events[0].project, pending)
    async with store.engine.begin() as conn:
        await conn.execute(delete(t.sla_timers))
        if rows:
            await conn.execute(insert(t.sla_timers), rows)
    return len(rows)


async def breach_timers(
    engine: AsyncEngine,
    tenant: str,
    projects: frozenset[str] | None,
    project: str | None,
    limit: int,
    soon: datetime,
    scope: tuple[str, str] | None = None,
) -> tuple[list[BreachTimerRow], dict[str, int]]:
    """The earliest pending breaches of a tenant's `projects` (None: all), and per project
    how many are due by `soon`; with `scope` (a `work_orders` column and its value, e.g.
    the technician's own assignments), only the breaches of the orders it matches."""
    # Timer keys end in ":breach" for breaches only (see `Timer.key`).
    c = t.sla_timers.c
    where: list[ColumnElement[bool]] = [c.tenant == tenant, c.key.like("%:breach")]
    if projects is not None:
        where.append(c.project.in_(sorted(projects)))
    if project is not None:
        where.append(c.project == project)
    if scope is not None:
        column, value = scope
        orders = t.work_orders.c
        mine = select(orders.id).where(orders.tenant == tenant, orders[column] == value)
        where.append(c.work_order_id.in_(mine))
    earliest = (
        select(c.work_order_id, c.project, c.clock, c.key, c.due_at)
        .where(*where)
        .order_by(c.due_at, c.work_order_id, c.key)
        .limit(limit)
    )
    counts = select(c.project, func.count()).where(*where, c.due_at <= soon).group_by(c.project)
    async with engine.connect() as conn:
        rows = (await conn.execute(earliest)).all()
        due_soon = {name: int(n) for name, n in (await conn.execute(counts)).all()}
    items = [
        BreachTimerRow(
            work_order_id=row.work_order_id,
            project=row.project,
            clock=row.clock,
            cycle=int(row.key.split(":")[1]),
            due_at=row.due_at,
        )
        for row in rows
    ]
    return items, due_soon
