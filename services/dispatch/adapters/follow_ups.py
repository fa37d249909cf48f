"""The repairs a period's follow-up visits are planned over, read from dispatch's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.sla import CompletedRepair
from services.dispatch.domain.workorder import Status
from shared.events.workorder import WorkOrderKind

_COMPLETED, _FOLLOWED_UP = "workorder.completed", "workorder.follow_up_recorded"
_CHUNK = 500
"""Work orders per read of their events (bound parameters stay far below any driver's limit)."""


async def project_time_zone(engine: AsyncEngine, tenant: str, project: str) -> str | None:
    """The registered project's time zone; None when the project is not registered."""
    p = t.projects.c
    query = select(p.time_zone).where(p.tenant == tenant, p.project == project)
    async with engine.connect() as conn:
        zone = (await conn.execute(query)).scalar_one_or_none()
    return None if zone is None else str(zone)


async def completed_repairs(
    engine: AsyncEngine, tenant: str, project: str, low: datetime, high: datetime
) -> list[CompletedRepair]:
    """The project's repairs first completed in `[low, high)`, with their visits.

    Candidates come from the work-order rows through the project index (reported before
    `high`, changed since `low`: a first completion in the period is such a change), then
    each candidate's completion and follow-up events from the event store by stream.
    """
    w = t.work_orders.c
    candidates = (
        select(w.id, w.status)
        .where(
            w.tenant == tenant,
            w.project == project,
            w.reported_at < high,
            w.updated_at >= low,
            w.kind == WorkOrderKind.REPAIR.value,
        )
        .order_by(w.id)
    )
    e = t.events.c
    found: list[CompletedRepair] = []
    async with engine.connect() as conn:
        status = {str(r.id): str(r.status) for r in await conn.execute(candidates)}
        ids = sorted(status)
        for start in range(0, len(ids), _CHUNK):
            firsts = select(e.stream_id, e.type_name, func.min(e.occurred_at)).where(
                e.stream_id.in_(ids[start : start + _CHUNK]),
                e.type_name.in_((_COMPLETED, _FOLLOWED_UP)),
            )
            seen: dict[str, dict[str, datetime]] = {}
            for stream_id, type_name, first in await conn.execute(
                firsts.group_by(e.stream_id, e.type_name)
            ):
                seen.setdefault(str(stream_id), {})[str(type_name)] = first
            for work_order_id, events in sorted(seen.items()):
                completed = events.get(_COMPLETED)
                if completed is not None and low <= completed < high:
                    found.append(
                        CompletedRepair(
                            work_order_id,
                            completed,
                            visited=_FOLLOWED_UP in events,
                            visitable=status[work_order_id] == Status.COMPLETED.value,
                        )
                    )
    return found
