"""The reports of dispatch's store and every copy of them, for sealing them in place
(`service_layer.report_sealing`): the `events` rows, the outbox's payloads, the listing's
summaries and the idempotency records' stored answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.workorder import RESIDENT
from services.dispatch.service_layer.context import Effect
from services.dispatch.service_layer.report_sealing import (
    Rewritten,
    SealedReport,
    StoredReport,
    rekeyed_fingerprint,
    sealed_copy,
)

REPORTED = "workorder.reported"


class SqlReportStore:
    """`service_layer.report_sealing.ReportStore` over dispatch's tables."""

    def __init__(self, engine: AsyncEngine, fingerprint_key: bytes) -> None:
        self._engine = engine
        self._fingerprint_key = fingerprint_key

    async def reports(self, after: str | None, limit: int) -> Sequence[StoredReport]:
        """Up to `limit` reports of work orders after `after` by id (a report is its
        work order's first event: one a work order)."""
        e = t.events.c
        query = select(e.event_id, e.stream_id, e.tenant, e.data).where(e.type_name == REPORTED)
        if after is not None:
            query = query.where(e.stream_id > after)
        query = query.order_by(e.stream_id).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [StoredReport(r.event_id, r.stream_id, r.tenant, dict(r.data)) for r in rows]

    async def replace(self, sealed: Sequence[SealedReport]) -> Rewritten:
        """Store the sealed data of each report and rewrite its copies, all in one
        transaction: a batch is sealed everywhere or nowhere."""
        by_event = {s.report.event_id: s.data for s in sealed}
        by_order = {s.report.work_order_id: s.data for s in sealed}
        async with self._engine.begin() as conn:
            for event_id, data in by_event.items():
                await conn.execute(
                    update(t.events).where(t.events.c.event_id == event_id).values(data=data)
                )
            outbox_rows = await _outbox(conn, by_event)
            listings = await _listings(conn, by_order)
            records = await _idempotency(conn, by_order, self._fingerprint_key)
            logged = await _access_log(conn, by_order)
        return Rewritten(len(by_event), outbox_rows, listings, records, logged)


async def _outbox(conn: AsyncConnection, by_event: dict[Any, dict[str, Any]]) -> int:
    """The outbox rows of the events, pending or published (a published row's payload is
    a clear copy too): the envelope as it was, with the sealed data."""
    o = t.outbox.c
    rows = (
        await conn.execute(select(o.id, o.event_id, o.payload).where(o.event_id.in_(by_event)))
    ).all()
    for row in rows:
        envelope = orjson.loads(row.payload)
        envelope["data"] = by_event[row.event_id]
        await conn.execute(
            update(t.outbox).where(o.id == row.id).values(payload=orjson.dumps(envelope))
        )
    return len(rows)


async def _listings(conn: AsyncConnection, by_order: dict[str, dict[str, Any]]) -> int:
    w = t.work_orders.c
    rows = (await conn.execute(select(w.id, w.summary).where(w.id.in_(by_order)))).all()
    changed = 0
    for row in rows:
        summary = sealed_copy(dict(row.summary), by_order[row.id])
        if summary != row.summary:
            await conn.execute(update(t.work_orders).where(w.id == row.id).values(summary=summary))
            changed += 1
    return changed


async def _idempotency(
    conn: AsyncConnection, by_order: dict[str, dict[str, Any]], fingerprint_key: bytes
) -> int:
    """The stored answers of commands on the work orders: each one shows the order, and a
    replay answers it again (re-rendered for the caller from the sealed form). The
    report's own record loses its plain fingerprint too (`rekeyed_fingerprint`)."""
    k = t.idempotency_keys.c
    query = select(
        k.tenant, k.subject, k.key, k.stream_id, k.effect, k.fingerprint, k.response
    ).where(k.stream_id.in_(by_order))
    changed = 0
    for row in (await conn.execute(query)).all():
        values: dict[str, Any] = {}
        response = sealed_copy(dict(row.response), by_order[row.stream_id])
        if response != row.response:
            values["response"] = response
        if row.effect == str(Effect.CREATED):
            values["fingerprint"] = rekeyed_fingerprint(fingerprint_key, row.fingerprint)
        if values:
            await conn.execute(
                update(t.idempotency_keys)
                .where(k.tenant == row.tenant, k.subject == row.subject, k.key == row.key)
                .values(**values)
            )
            changed += 1
    return changed


async def _access_log(conn: AsyncConnection, by_order: dict[str, dict[str, Any]]) -> int:
    """The access log's entries of views of the work orders: whose data they showed is
    named by the resident's reference now, as sealing logs it (before, by app login or
    not at all), so a privacy officer finds them by reference."""
    a = t.personal_data_access.c
    changed = 0
    for order, data in by_order.items():
        reference = data["reporter"][RESIDENT]
        done = await conn.execute(
            update(t.personal_data_access)
            .where(a.work_order_id == order)
            .where(or_(a.resident.is_(None), a.resident != reference))
            .values(resident=reference)
        )
        changed += done.rowcount or 0
    return changed
