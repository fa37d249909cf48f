"""The pending-dispatch queue (待派单): unassigned orders that wait for a dispatcher."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t

QUEUE_SCAN_LIMIT = 5_000
"""Most unassigned reported orders looked at per request (oldest first)."""


async def pending_queue(
    engine: AsyncEngine, tenant: str, projects: frozenset[str] | None, project: str | None
) -> dict[str, list[dict[str, Any]]]:
    """Per project, the orders in the pending queue, oldest report first.

    The queue flag lives in the listing row's summary (the work order's state), so the
    query narrows to unassigned reported orders by indexed columns and filters the flag.
    """
    c = t.work_orders.c
    query = (
        select(c.project, c.summary, c.version)
        .where(c.tenant == tenant, c.status == "reported", c.assignee.is_(None))
        .order_by(c.reported_at, c.id)
        .limit(QUEUE_SCAN_LIMIT)
    )
    if projects is not None:
        query = query.where(c.project.in_(sorted(projects)))
    if project is not None:
        query = query.where(c.project == project)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    queue: dict[str, list[dict[str, Any]]] = {}
    for name, summary, version in rows:
        if summary.get("dispatch_pending"):
            queue.setdefault(name, []).append({**summary, "version": version})
    return queue
