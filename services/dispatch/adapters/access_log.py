"""`AccessLog` on dispatch's `personal_data_access` table (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.service_layer.access_log import AccessEntry, AccessQuery, LoggedAccess

_FIELD_SEPARATOR = ","


class SqlAccessLog:
    """The access log as rows, one per clear view, numbered in the order written."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, entries: Sequence[AccessEntry]) -> None:
        """Insert `entries` in one transaction."""
        rows = [
            {
                "tenant": e.tenant,
                "at": e.at,
                "subject": e.subject,
                "role": e.role,
                "resident": e.resident,
                "work_order_id": e.work_order_id,
                "fields": _FIELD_SEPARATOR.join(e.fields),
                "purpose": e.purpose,
            }
            for e in entries
        ]
        async with self._engine.begin() as conn:
            await conn.execute(insert(t.personal_data_access), rows)

    async def read(self, query: AccessQuery, limit: int) -> list[LoggedAccess]:
        """A page of entries, newest (highest id) first."""
        c = t.personal_data_access.c
        conditions: list[Any] = [c.tenant == query.tenant]
        if query.resident is not None:
            conditions.append(c.resident == query.resident)
        if query.subject is not None:
            conditions.append(c.subject == query.subject)
        if query.since is not None:
            conditions.append(c.at >= query.since)
        if query.until is not None:
            conditions.append(c.at < query.until)
        if query.before_id is not None:
            conditions.append(c.id < query.before_id)
        statement = (
            select(t.personal_data_access)
            .where(and_(*conditions))
            .order_by(c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [
            LoggedAccess(
                tenant=r["tenant"],
                at=r["at"],
                subject=r["subject"],
                role=r["role"],
                resident=r["resident"],
                work_order_id=r["work_order_id"],
                fields=tuple(f for f in r["fields"].split(_FIELD_SEPARATOR) if f),
                purpose=r["purpose"],
                id=r["id"],
            )
            for r in rows
        ]

    async def prune(self, older_than: datetime, limit: int) -> int:
        """Delete the oldest `limit` entries written before `older_than`."""
        c = t.personal_data_access.c
        oldest = (
            select(c.id)
            .where(c.at < older_than)
            .order_by(c.at, c.id)
            .limit(limit)
            .scalar_subquery()
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t.personal_data_access).where(c.id.in_(oldest)))
        return int(result.rowcount)
