"""The `eventsourcing` library behind FastAPI: one aggregate saved per report.

The library is synchronous, so the endpoint is a plain `def` that FastAPI runs in its
thread pool, as a user of the library would write it. Persistence is the library's own
SQLite or PostgreSQL module, chosen by its environment variables (`PERSISTENCE_MODULE`,
`SQLITE_DBNAME`, `POSTGRES_*`), with the library's defaults for everything else.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from fastapi import FastAPI

from bench.peers.report import Report


class WorkOrder(Aggregate):
    """A work order, born reported."""

    @event("Reported")
    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report


class WorkOrders(Application[UUID]):
    """The application: report a work order, i.e. save one new aggregate."""

    def report(self, report: Report) -> UUID:
        """Save a new work order; its id."""
        order = WorkOrder(report.fields())
        self.save(order)
        return order.id


def create_app() -> FastAPI:
    """The peer's app (uvicorn factory)."""
    orders = WorkOrders()
    app = FastAPI()

    @app.post("/v1/work-orders", status_code=201)
    def report(body: Report) -> dict[str, str]:
        return {"id": str(orders.report(body))}

    return app
