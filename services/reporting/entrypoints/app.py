"""reporting's FastAPI application: the KPI API, its live stream and the dashboard."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.reporting.entrypoints import bootstrap
from services.reporting.entrypoints.routes import kpis, operations
from services.reporting.settings import ReportingSettings
from shared.clock import Clock
from shared.http.app import service_app

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """
Folds the event log (`EVENTS`) into the KPIs headquarters audits and serves them:
figures over a scope and period, series, the orders behind a figure, CSV and XLSX
exports, and a live stream of changes (also on NATS, `kpi.<tenant>.<project>.<kpi>`).
The dashboard is at `/dashboard/`.

Authenticate with `Authorization: Bearer <JWT>` (`wo token` mints one locally). Errors
are RFC 9457 problem details with a machine `code`. Formulas: docs/kpis.md.
"""


def create_app(settings: ReportingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; the database, projector and NATS start with the lifespan."""
    settings = settings or ReportingSettings()
    app = service_app(
        settings,
        description=DESCRIPTION,
        start=lambda: bootstrap.start(settings, clock),
        stop=bootstrap.stop,
        state_name="reporting",
        routers=[kpis.router, operations.router],
        tags=[
            {"name": "kpis", "description": "KPI figures, series, drill-down, exports, stream."},
            {"name": "operations", "description": "Health, readiness, projector, dead letters."},
        ],
    )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    @app.get("/dashboard/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="static")
    return app
