"""reporting's FastAPI application: the KPI API and its live stream (the dashboard is the
console's quality page; `/dashboard/` points there)."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.entrypoints import bootstrap
from services.reporting.entrypoints.routes import dashboard, kpis, operations
from services.reporting.settings import ReportingSettings
from shared.clock import Clock
from shared.http.app import service_app

DESCRIPTION = """
Folds the event log (`EVENTS`) into the KPIs headquarters audits and serves them:
figures over a scope and period, series, the orders behind a figure, CSV and XLSX
exports, and a live stream of changes (also on NATS, `kpi.<tenant>.<project>.<kpi>`).
The KPI dashboard is the staff console's Quality page; `/dashboard/` sends people there
(`CONSOLE_URL`).

Authenticate with `Authorization: Bearer <JWT>` (`wo token` mints one locally). Errors
are RFC 9457 problem details with a machine `code`. Formulas: docs/kpis.md.
"""


def create_app(settings: ReportingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; the database, projector and NATS start with the lifespan."""
    settings = settings or ReportingSettings()
    return service_app(
        settings,
        description=DESCRIPTION,
        start=lambda: bootstrap.start(settings, clock),
        stop=bootstrap.stop,
        state_name="reporting",
        routers=[kpis.router, operations.router, dashboard.router],
        tags=[
            {"name": "kpis", "description": "KPI figures, series, drill-down, exports, stream."},
            {"name": "operations", "description": "Health, readiness, projector, dead letters."},
        ],
    )
