"""The durable timer table (SLA clocks and offer expiries): rebuilt from the events, and
the pending breaches the SLA views list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.sql_timer_store import SqlTimerStore
from services.dispatch.service_layer.sla import SlaPolicies
from services.dispatch.service_layer.sla_views import BreachTimerRow
from services.dispatch.service_layer.timer_rebuild import rebuild_timers


async def rebuild_sla_timers(store: SqlEventStore, policies: SlaPolicies) -> int:
    """Drop the timer table's rows and derive them again from every work order's events."""
    async with store.engine.connect() as conn:
        orders = (await conn.execute(select(t.work_orders.c.id))).scalars().all()
    return await rebuild_timers(store, policies, SqlTimerStore(store.engine), orders)


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
