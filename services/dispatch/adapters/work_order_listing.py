"""The work-order listing (`work_orders`), kept inline: one row per order, after each append.

It is what `GET /v1/work-orders` pages through and what the load limit counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.inline import Projection, Written
from services.dispatch.adapters.upsert import upsert
from services.dispatch.service_layer.ports import AppendBatch, WorkOrderView


class WorkOrderListing(Projection):
    """The listing's part in a group: upserts the rows of the orders written."""

    def __init__(self, conn: Connection, batches: Sequence[AppendBatch]) -> None:
        self._conn = conn

    def write(self, written: Sequence[Written], now: datetime) -> None:
        """One upsert of every order's row; of several appends to one order, the last."""
        rows: dict[str, dict[str, Any]] = {}
        for batch, result in written:
            view = batch.inline_of(WorkOrderView)
            if view is not None:
                rows[batch.stream_id] = work_order_row(batch.stream_id, view, result.version, now)
        if rows:
            upsert(self._conn, t.work_orders, ["id"], list(rows.values()))


def work_order_row(
    work_order_id: str, view: WorkOrderView, version: int, now: datetime
) -> dict[str, Any]:
    """The `work_orders` row of an order's view at `version`."""
    return {
        "id": work_order_id,
        "tenant": view.tenant,
        "project": view.project,
        "kind": view.kind,
        "category": view.category,
        "urgency": view.urgency,
        "status": view.status,
        "owner": view.owner,
        "assignee": view.assignee,
        "reporter_resident_id": view.reporter_resident_id,
        "building": view.building,
        "reported_at": view.reported_at,
        "updated_at": now,
        "version": version,
        "summary": view.summary,
        "assigned_at": view.assigned_at,
        "offered_to": view.offered_to,
        "number": view.number,
    }
