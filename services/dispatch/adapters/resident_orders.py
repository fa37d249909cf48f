"""The residents' index read by resident reference (`service_layer.resident_orders`).

`resident_reports.subject` holds each indexed order's reporter reference; the order's
status and times come from the listing (`work_orders`), as the resident search reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.privacy import ENDED_STATUSES
from services.dispatch.service_layer.resident_orders import EndedResident, ResidentOrder

_r, _w = t.resident_reports.c, t.work_orders.c


class SqlResidentOrders:
    """`ResidentOrders` on dispatch's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def orders_of(self, tenant: str, resident: str) -> list[ResidentOrder]:
        """The resident's indexed orders, newest report first."""
        query = (
            select(_w.id, _w.project, _w.status, _w.reported_at, _w.updated_at)
            .select_from(t.resident_reports.join(t.work_orders, _w.id == _r.work_order_id))
            .where(_r.tenant == tenant, _r.subject == resident)
            .order_by(_w.reported_at.desc(), _w.id.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [ResidentOrder(r.id, r.project, r.status, r.reported_at, r.updated_at) for r in rows]

    async def forget(self, tenant: str, resident: str) -> int:
        """Delete the resident's index rows; how many."""
        statement = delete(t.resident_reports).where(_r.tenant == tenant, _r.subject == resident)
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount

    async def ended(
        self, tenant: str | None, ended_before: datetime, limit: int
    ) -> list[EndedResident]:
        """Residents whose indexed orders all ended, the latest before `ended_before`."""
        still_open = func.sum(case((_w.status.in_(sorted(ENDED_STATUSES)), 0), else_=1))
        ended_at = func.max(_w.updated_at)
        query: Any = (
            select(_r.tenant, _r.subject, ended_at.label("ended_at"))
            .select_from(t.resident_reports.join(t.work_orders, _w.id == _r.work_order_id))
            .where(_r.subject.is_not(None))
            .group_by(_r.tenant, _r.subject)
            .having(still_open == 0)
            .having(ended_at < ended_before)
            .order_by(ended_at, _r.subject)
            .limit(limit)
        )
        if tenant is not None:
            query = query.where(_r.tenant == tenant)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [EndedResident(r.tenant, r.subject, r.ended_at) for r in rows]
