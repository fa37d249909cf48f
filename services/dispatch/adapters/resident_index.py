"""The residents' blind index: which reported work orders came from a phone number.

A projection of its own, beside the write path rather than inside it: `resident_reports`
holds one row per reported work order with the keyed HMAC of its reporter's phone
(`domain.residents.phone_index`), and is filled from the `workorder.reported` events of
the store. Every search first catches up with the reports recorded since the newest one
indexed, so a caller finds the order reported a moment ago (reading one's own writes),
and a catch-up costs one indexed read when nothing is new. A background loop (`run`)
catches up too: at start, which after migration 0014 indexes the whole history, in
chunks, before anyone waits on a search for it; then every few seconds, so a search
seldom has anything left to write.

The catch-up reads back `LATE_COMMIT_MARGIN` before the newest indexed report: an
append's `recorded_at` is taken before its transaction commits, and several dispatch
processes' clocks differ, so a report may become visible after a later-stamped one was
indexed. Reports already indexed are skipped (the primary key), so the margin costs a
re-read, never a second row. `rebuild` derives the whole table again (after the key
changed, or to be sure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.residents import ResidentReport, phone_index
from shared.events.catalogue import upcast
from shared.events.workorder import WorkOrderReported

LATE_COMMIT_MARGIN = timedelta(minutes=10)
"""How far before the newest indexed report the catch-up looks again (see the module)."""

_CHUNK = 500
"""Reports indexed per statement."""

_REPORTED = WorkOrderReported.type_name


class SqlResidentIndex:
    """The blind index on dispatch's database, keyed with the blind-index key derived from
    `PRIVACY_MASTER_KEY` (`ServiceSettings.privacy_keys().blind_index`)."""

    def __init__(self, engine: AsyncEngine, key: bytes) -> None:
        self._engine = engine
        self._key = key

    async def run(self, poll_seconds: float) -> None:
        """Keep the index caught up until cancelled: now, then every `poll_seconds`."""
        while True:
            await self.catch_up()
            await asyncio.sleep(poll_seconds)

    async def catch_up(self) -> int:
        """Index the reports recorded since the newest one indexed; how many were new."""
        indexed = 0
        while True:
            async with self._engine.connect() as conn:
                newest = await conn.scalar(select(func.max(t.resident_reports.c.recorded_at)))
                since = None if newest is None else newest - LATE_COMMIT_MARGIN
                pending = await _pending(conn, since)
            if not pending:
                return indexed
            async with self._engine.begin() as conn:
                await self._insert(conn, pending)
            indexed += len(pending)
            if len(pending) < _CHUNK:
                return indexed

    async def rebuild(self) -> int:
        """Derive the whole index again from every report in the store; how many."""
        indexed = 0
        async with self._engine.begin() as conn:
            await conn.execute(delete(t.resident_reports))
            while pending := await _pending(conn, None):
                await self._insert(conn, pending)
                indexed += len(pending)
        return indexed

    async def reports(
        self, tenant: str, projects: frozenset[str] | None, phone: str, limit: int
    ) -> list[ResidentReport]:
        """The newest `limit` work orders reported from `phone` in the tenant's `projects`
        (None: every project), with their status as it is now."""
        await self.catch_up()
        r, w = t.resident_reports.c, t.work_orders.c
        query = (
            select(w.id, w.project, w.status, w.reported_at, w.summary)
            .select_from(t.resident_reports.join(t.work_orders, w.id == r.work_order_id))
            .where(r.tenant == tenant, r.phone_index == phone_index(self._key, phone))
            .order_by(w.reported_at.desc(), w.id.desc())
            .limit(limit)
        )
        if projects is not None:
            query = query.where(r.project.in_(sorted(projects)))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_report(row) for row in rows]

    async def _insert(self, conn: AsyncConnection, pending: Sequence[Any]) -> None:
        rows = [
            {
                "work_order_id": row.stream_id,
                "tenant": row.tenant,
                "project": row.project,
                "phone_index": phone_index(self._key, _phone(row)),
                "recorded_at": row.recorded_at,
            }
            for row in pending
        ]
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # Another search (or process) may index the same reports at the same time.
        statement = dialect.insert(t.resident_reports).on_conflict_do_nothing()
        await conn.execute(statement, rows)


def _pending_query(since: datetime | None) -> Select[Any]:
    e, r = t.events.c, t.resident_reports.c
    query = (
        select(e.stream_id, e.tenant, e.project, e.recorded_at, e.schema_version, e.data)
        # A literal, not a parameter: it is what lets the database use the partial index
        # `ix_events_stream_starts`.
        .where(e.version == literal_column("1"), e.type_name == _REPORTED)
        .where(~exists().where(r.work_order_id == e.stream_id))
        .order_by(e.recorded_at, e.stream_id)
        .limit(_CHUNK)
    )
    return query if since is None else query.where(e.recorded_at >= since)


async def _pending(conn: AsyncConnection, since: datetime | None) -> Sequence[Any]:
    """Reports recorded since `since` (None: ever) not indexed yet, oldest first."""
    rows: Sequence[Any] = (await conn.execute(_pending_query(since))).all()
    return rows


def _phone(row: Any) -> str | None:
    _, data = upcast(_REPORTED, row.schema_version, dict(row.data))
    phone = data.get("reporter", {}).get("phone")
    return phone if isinstance(phone, str) else None


def _report(row: Any) -> ResidentReport:
    summary = row["summary"]
    reporter, location = summary.get("reporter", {}), summary.get("location", {})
    return ResidentReport(
        work_order_id=row["id"],
        project=row["project"],
        resident_id=reporter.get("resident_id"),
        name=reporter.get("name", ""),
        building=location.get("building"),
        unit=location.get("unit"),
        number=summary.get("number"),
        status=row["status"],
        kind=summary.get("kind", ""),
        category=summary.get("category", ""),
        reported_at=row["reported_at"],
    )
