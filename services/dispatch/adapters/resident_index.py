"""The residents' blind index: which reported work orders came from a phone number.

`resident_reports` holds one row per reported work order with the keyed HMAC of its
reporter's phone (`domain.residents.phone_index`) and the reporter's pseudonymous
reference (`subject`). It is an inline part of the append (`ResidentReports`): the row is
written in the report's own transaction, from the phone in clear that only the report
command holds (the stored event carries the phone masked and sealed), so a search finds
the order reported a moment ago.

`rebuild` derives the whole table again from the stored reports (after the master key
changed, or to be sure): a sealed phone is opened through the key ring (an erased
resident's gives no row anyone can find), a report recorded before sealing gives its
clear phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.inline import Projection, Written
from services.dispatch.adapters.upsert import upsert
from services.dispatch.domain.residents import ResidentReport, phone_index
from services.dispatch.domain.workorder import (
    RESIDENT,
    SEALED,
    is_sealed,
    sealed_tokens,
)
from services.dispatch.service_layer.personal_data import Privacy
from services.dispatch.service_layer.ports import AppendBatch, ResidentEntry
from shared.events.catalogue import upcast
from shared.events.workorder import WorkOrderReported
from shared.privacy.fields import Erased
from shared.privacy.pseudonym import reporter_identity, resident_reference

_CHUNK = 500
"""Reports indexed per statement."""

_REPORTED = WorkOrderReported.type_name


class ResidentReports(Projection):
    """The index's part in a group: inserts the rows of the orders reported."""

    def __init__(self, conn: Connection, batches: Sequence[AppendBatch]) -> None:
        self._conn = conn

    def write(self, written: Sequence[Written], now: datetime) -> None:
        """One insert of every new order's row."""
        rows = [
            resident_row(batch, entry, now)
            for batch, _ in written
            if (entry := batch.inline_of(ResidentEntry)) is not None
        ]
        if rows:
            upsert(self._conn, t.resident_reports, ["work_order_id"], rows)


def resident_row(batch: AppendBatch, entry: ResidentEntry, now: datetime) -> dict[str, Any]:
    """The `resident_reports` row of a new order."""
    return {
        "work_order_id": batch.stream_id,
        "tenant": batch.tenant,
        "project": batch.project,
        "phone_index": entry.phone_index,
        "recorded_at": now,
        "subject": entry.subject,
    }


class SqlResidentIndex:
    """The blind index on dispatch's database, keyed with the blind-index key derived from
    `PRIVACY_MASTER_KEY` (`Privacy.index_key`)."""

    def __init__(self, engine: AsyncEngine, privacy: Privacy) -> None:
        self._engine = engine
        self._privacy = privacy

    async def rebuild(self) -> int:
        """Derive the whole index again from every report in the store; how many."""
        indexed = 0
        async with self._engine.begin() as conn:
            await conn.execute(delete(t.resident_reports))
            while pending := await _pending(conn):
                await self._insert(conn, pending)
                indexed += len(pending)
        return indexed

    async def reports(
        self, tenant: str, projects: frozenset[str] | None, phone: str, limit: int
    ) -> list[ResidentReport]:
        """The newest `limit` work orders reported from `phone` in the tenant's `projects`
        (None: every project), with their status as it is now."""
        r, w = t.resident_reports.c, t.work_orders.c
        key = phone_index(self._privacy.index_key, phone)
        query = (
            select(w.id, w.project, w.status, w.reported_at, w.summary, r.subject)
            .select_from(t.resident_reports.join(t.work_orders, w.id == r.work_order_id))
            .where(r.tenant == tenant, r.phone_index == key)
            .order_by(w.reported_at.desc(), w.id.desc())
            .limit(limit)
        )
        if projects is not None:
            query = query.where(r.project.in_(sorted(projects)))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_report(row) for row in rows]

    async def _insert(self, conn: AsyncConnection, pending: Sequence[Any]) -> None:
        rows = []
        for row in pending:
            subject, phone = await self._resident_of(row.tenant, row.stream_id, _data(row))
            rows.append(
                {
                    "work_order_id": row.stream_id,
                    "tenant": row.tenant,
                    "project": row.project,
                    "phone_index": phone_index(self._privacy.index_key, phone),
                    "recorded_at": row.recorded_at,
                    "subject": subject,
                }
            )
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # A report appended while the rebuild runs has its row already.
        statement = dialect.insert(t.resident_reports).on_conflict_do_nothing()
        await conn.execute(statement, rows)

    async def _resident_of(
        self, tenant: str, work_order_id: str, data: dict[str, Any]
    ) -> tuple[str, str | None]:
        """The reporter's reference and their phone in clear (None: none, or erased)."""
        reporter = data.get("reporter") or {}
        if is_sealed(data):
            subject: str = reporter[RESIDENT]
            token = (reporter.get(SEALED) or {}).get("phone")
            if not isinstance(token, str):
                return subject, None
            opened = await self._privacy.fields.open(tenant, subject, "reporter.phone", token)
            return subject, None if isinstance(opened, Erased) else opened
        # Recorded before sealing: the phone is there in clear, the reference derived as
        # the report command derives it now.
        clear = reporter.get("phone") if isinstance(reporter.get("phone"), str) else None
        identity = reporter_identity(clear, reporter.get("resident_id"), work_order_id)
        return resident_reference(self._privacy.reference_key, tenant, identity), clear


def _pending_query() -> Select[Any]:
    e, r = t.events.c, t.resident_reports.c
    return (
        select(e.stream_id, e.tenant, e.project, e.recorded_at, e.schema_version, e.data)
        # A literal, not a parameter: it is what lets the database use the partial index
        # `ix_events_stream_starts`.
        .where(e.version == literal_column("1"), e.type_name == _REPORTED)
        .where(~exists().where(r.work_order_id == e.stream_id))
        .order_by(e.recorded_at, e.stream_id)
        .limit(_CHUNK)
    )


async def _pending(conn: AsyncConnection) -> Sequence[Any]:
    """Reports not indexed yet, oldest first."""
    rows: Sequence[Any] = (await conn.execute(_pending_query())).all()
    return rows


def _data(row: Any) -> dict[str, Any]:
    _, data = upcast(_REPORTED, row.schema_version, dict(row.data))
    return data


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
        resident=row["subject"] or reporter.get(RESIDENT),
        sealed=sealed_tokens(summary),
    )
