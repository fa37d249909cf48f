"""The KPI API: figures, series, the orders behind a figure, exports and the live stream."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from nats.js.api import DeliverPolicy
from openpyxl import Workbook

from services.reporting.adapters.kpi_stream import value_json
from services.reporting.domain.kpis import DIMENSIONS, KPIS, KpiValue
from services.reporting.domain.notifications import OUTCOMES, NotificationFigures, OutcomeCounts
from services.reporting.domain.periods import Granularity, Period
from services.reporting.entrypoints.deps import QueryDep, ReportingDep
from services.reporting.service_layer.queries import (
    KpiQuery,
    at_risk,
    figure_groups,
    figure_orders,
    figure_series,
    figures,
    kpi_named,
    notifications,
    order_numbers,
    scoped_query,
)
from shared.errors import Unavailable
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES, event_stream
from shared.http.responses import json_response
from shared.inputs import Key

_SSE_POLL_SECONDS = 0.5

router = APIRouter(prefix="/v1/kpis", tags=["kpis"], responses=PROBLEM_RESPONSES)


def _definition(name: str) -> dict[str, Any]:
    kpi = KPIS[name]
    return {
        "kpi": name,
        "title_en": kpi.title_en,
        "title_zh": kpi.title_zh,
        "unit": kpi.unit.value,
        "direction": kpi.direction.value if kpi.direction else None,
        "snapshot": kpi.snapshot,
    }


def _period(query: KpiQuery | None) -> dict[str, str] | None:
    if query is None:
        return None
    return {"from": query.period.start.isoformat(), "to": query.period.end.isoformat()}


def _outcomes_json(counts: OutcomeCounts) -> dict[str, Any]:
    return {"delivery_rate": counts.delivery_rate, **{o: counts.of(o) for o in OUTCOMES}}


def _notifications_json(found: NotificationFigures | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        **_outcomes_json(found.total),
        "by_channel": {k: _outcomes_json(v) for k, v in found.by_channel.items()},
        "by_template": {k: _outcomes_json(v) for k, v in found.by_template.items()},
    }


def _figure(value: KpiValue) -> dict[str, Any]:
    return {**_definition(value.kpi), **value_json(value)}


@router.get("", summary="Every KPI over a scope and period")
async def list_kpis(
    reporting: ReportingDep,
    query: QueryDep,
    group_by: Annotated[
        str | None, Query(description=f"Also give each KPI per one of {', '.join(DIMENSIONS)}")
    ] = None,
) -> Response:
    """The six KPIs of seed 002 against their targets and the operational views beside them.

    The period is local dates `[from, to)` in each project's time zone; filters narrow the
    scope to a building, kind, category, technician or team. A project the caller may not
    see gives an empty scope, as dispatch's lists do. `notifications` counts notify's
    delivery outcomes (sent, failed, deferred, dead, unreached) with the delivery rate
    sent / (sent + dead + unreached), in all, per channel and per template; it is null under a filter
    other than `project`.
    """
    result = await figures(reporting.store, query, list(KPIS))
    body: dict[str, Any] = {
        "period": _period(query),
        "projects": list(result.projects),
        "households": result.households,
        "kpis": [_figure(v) for v in result.values],
    }
    body["notifications"] = _notifications_json(await notifications(reporting.store, query))
    if group_by is not None:
        body["groups"] = {
            name: [
                {"key": key, **value_json(value)}
                for key, value in await figure_groups(reporting.store, query, name, group_by)
            ]
            for name in KPIS
        }
    return json_response(body)


@router.get("/at-risk", summary="Open orders whose clocks were warned or breached")
async def list_at_risk(
    reporting: ReportingDep,
    query: QueryDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Running SLA clocks past their warning threshold or their due time, soonest due first."""
    found = await at_risk(reporting.store, query, limit)
    return json_response(
        {
            "orders": [
                {
                    "order_id": order.order_id,
                    "number": order.number,
                    "project": order.project,
                    "kind": order.kind,
                    "building": order.building,
                    "technician": order.technician,
                    "clock": clock,
                    "due_at": due.isoformat(),
                    "breached": breached,
                }
                for order, clock, due, breached in found
            ]
        }
    )


@router.get(
    "/stream",
    summary="Server-sent events: every change of a visible project's KPI",
    response_class=StreamingResponse,
    responses=event_stream("`event: kpi` messages, each a KPI figure as JSON."),
)
async def stream(
    request: Request,
    principal: PrincipalDep,
    reporting: ReportingDep,
    project: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
) -> StreamingResponse:
    """`event: kpi` messages as published on `kpi.<tenant>.<project>.<kpi>`.

    A new connection first gets the current figure of every KPI (stream KPI keeps the last
    value per subject), then each change as it happens.
    """
    today = reporting.clock.now().date()
    scoped = scoped_query(principal, project, _day(today), reporting.clock.now(), {})
    nats = reporting.nats
    if nats is None or not nats.is_connected:
        raise Unavailable("the message bus is not reachable yet; retry shortly", code="nats_down")
    subject = f"kpi.{principal.tenant}.{project or '*'}.*"
    sub = await nats.jetstream().subscribe(
        subject, ordered_consumer=True, deliver_policy=DeliverPolicy.LAST_PER_SUBJECT
    )
    heartbeat = reporting.settings.sse_heartbeat_seconds

    async def events() -> AsyncIterator[bytes]:
        idle = 0.0
        try:
            yield b": connected\n\n"
            # Short waits, so a closed connection or a stopping service ends the stream soon.
            while not reporting.stop_event.is_set() and not await request.is_disconnected():
                try:
                    message = await sub.next_msg(timeout=_SSE_POLL_SECONDS)
                except TimeoutError:  # nats-py's timeout derives from it
                    idle += _SSE_POLL_SECONDS
                    if idle >= heartbeat:
                        idle = 0.0
                        yield b": keep-alive\n\n"
                    continue
                visible = scoped is not None and (
                    scoped.projects is None or message.subject.split(".")[2] in scoped.projects
                )
                if visible:
                    idle = 0.0
                    yield b"event: kpi\ndata: " + message.data + b"\n\n"
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _day(today: date) -> Period:
    return Period(today, today + timedelta(days=1))


class ExportFormat(StrEnum):
    """File formats of an export."""

    CSV = "csv"
    XLSX = "xlsx"


_EXPORT_COLUMNS = (
    "kpi", "title_en", "title_zh", "unit", "value", "numerator", "denominator", "target",
    "meets_target", "p50", "p90", "p99",
)  # fmt: skip


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/export",
    summary="Download the figures of a period as CSV or XLSX",
    response_class=Response,
    responses={
        200: {
            "description": "A CSV (UTF-8 with BOM) or XLSX file, as `format` asks.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def export(
    reporting: ReportingDep,
    query: QueryDep,
    format: Annotated[ExportFormat, Query()] = ExportFormat.CSV,
    granularity: Annotated[Granularity | None, Query()] = None,
) -> Response:
    """One row per KPI (and with `granularity`, one more per KPI and bucket)."""
    result = await figures(reporting.store, query, list(KPIS))
    rows: list[list[Any]] = [["bucket", *_EXPORT_COLUMNS]]
    for value in result.values:
        figure = _figure(value)
        rows.append(["period", *(figure[c] for c in _EXPORT_COLUMNS)])
        if granularity is not None:
            for label, point in await figure_series(reporting.store, query, value.kpi, granularity):
                bucketed = _figure(point)
                rows.append([label, *(bucketed[c] for c in _EXPORT_COLUMNS)])
    period = _period(query) or {"from": "", "to": ""}
    stem = f"kpis_{period['from']}_{period['to']}"
    if format is ExportFormat.CSV:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return Response(
            buffer.getvalue().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    # Write-only: rows stream into the file instead of a cell tree held in memory.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("KPIs")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
    )


@router.get("/{kpi}/series", summary="A KPI per hour, day, week or month")
async def kpi_series(
    kpi: Key,
    reporting: ReportingDep,
    query: QueryDep,
    granularity: Annotated[Granularity, Query()] = Granularity.DAY,
) -> Response:
    """The figure per bucket of the period, buckets labelled in local time."""
    kpi_named(kpi)
    points = await figure_series(reporting.store, query, kpi, granularity)
    return json_response(
        {
            **_definition(kpi),
            "period": _period(query),
            "granularity": granularity.value,
            "points": [{"bucket": label, **value_json(v)} for label, v in points],
        }
    )


@router.get("/{kpi}/orders", summary="The orders behind a figure")
async def kpi_orders(
    kpi: Key,
    reporting: ReportingDep,
    query: QueryDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Response:
    """Each sample of the figure: its order (id and number), instant, hit (for ratios) or
    measure (durations)."""
    kpi_named(kpi)
    samples = await figure_orders(reporting.store, query, kpi)
    shown = samples[:limit]
    numbers = await order_numbers(reporting.store, {s.order_id for s in shown})
    return json_response(
        {
            **_definition(kpi),
            "period": _period(query),
            "total": len(samples),
            "orders": [
                {
                    "order_id": s.order_id,
                    "number": numbers.get(s.order_id),
                    "project": s.project,
                    "at": s.at.isoformat(),
                    "hit": s.hit,
                    "measure": s.measure,
                    "label": s.label,
                    **dict(s.dims),
                }
                for s in shown
            ],
        }
    )
