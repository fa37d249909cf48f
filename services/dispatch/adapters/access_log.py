"""`AccessLog` on dispatch's `personal_data_access` table (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.service_layer.access_log import AccessEntry, AccessQuery, LoggedAccess
from shared.database_errors import Fault, fault_of
from shared.grouped import Grouped, together_else_alone

_FIELD_SEPARATOR = ","


MAX_GROUP = 256
"""Answers whose entries one transaction writes at most."""


class SqlAccessLog:
    """The access log as rows, one per clear view, numbered in the order written.

    Answers logged at the same moment are written together (`shared.grouped`): one task
    takes every answer's entries waiting and inserts them in one transaction, so
    thirty-two reports answered at once cost one commit, not thirty-two (on SQLite each
    would also wait its turn for the single writer). Each answer still waits for its own
    entries to commit before it is sent. A group the database refuses is written again
    one answer at a time, so a value one answer's entry cannot hold never refuses its
    neighbours.
    """

    def __init__(self, engine: AsyncEngine, max_group: int = MAX_GROUP) -> None:
        self._engine = engine
        self._writer: Grouped[list[dict[str, Any]], None] = Grouped(
            self._write, max_group=max_group, name="access-log-writer"
        )

    async def record(self, entries: Sequence[AccessEntry]) -> None:
        """Write `entries` in one transaction (with other answers' entries waiting)."""
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
        if rows:
            await self._writer.submit(rows)

    async def close(self) -> None:
        """Stop the writer task (answers still waiting are refused with it)."""
        await self._writer.close()

    async def _write(self, group: list[list[dict[str, Any]]]) -> list[Exception | None]:
        return await together_else_alone(self._insert, group, _not_down)

    async def _insert(self, group: list[list[dict[str, Any]]]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t.personal_data_access), [r for rows in group for r in rows])

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


def _not_down(error: Exception) -> bool:
    """Whether a group's failure may be one answer's own (anything but a database down)."""
    return fault_of(error) is not Fault.DOWN
