"""reporting's FastAPI application: the KPI API, its live stream and the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.reporting.entrypoints import bootstrap
from services.reporting.entrypoints.routes import kpis, operations
from services.reporting.settings import ReportingSettings
from shared.clock import Clock
from shared.http import metrics
from shared.http.middleware import BodySizeLimit, RequestContext
from shared.http.problems import install_problem_handlers

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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reporting = await bootstrap.start(settings, clock)
        app.state.reporting = reporting
        app.state.token_verifier = reporting.verifier
        try:
            yield
        finally:
            await bootstrap.stop(reporting)

    app = FastAPI(
        title="reporting",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "kpis", "description": "KPI figures, series, drill-down, exports, stream."},
            {"name": "operations", "description": "Health, readiness, projector, dead letters."},
        ],
    )
    install_problem_handlers(app)
    app.include_router(kpis.router)
    app.include_router(operations.router)
    app.include_router(metrics.router)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    @app.get("/dashboard/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, service=settings.service_name)
    return app
