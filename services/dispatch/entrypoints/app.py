"""dispatch's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.dispatch.entrypoints import bootstrap
from services.dispatch.entrypoints.routes import (
    health,
    projects,
    sla,
    sla_policies,
    staff,
    work_orders,
)
from services.dispatch.settings import DispatchSettings
from shared.clock import Clock
from shared.http import metrics
from shared.http.middleware import BodySizeLimit, RequestContext
from shared.http.problems import install_problem_handlers

DESCRIPTION = """
Records repair and complaint work orders as immutable events and publishes them,
in order, on NATS JetStream (`events.<tenant>.<project>.workorder.<event>`).

Authenticate with `Authorization: Bearer <JWT>` (`wo token` mints one locally).
Commands accept `Idempotency-Key` (a repeat returns the first result) and
`If-Match: "<version>"` (412 if the work order moved on). Errors are RFC 9457
problem details with a machine `code`.
"""


def create_app(settings: DispatchSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; the database, relay and NATS start with the lifespan."""
    settings = settings or DispatchSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dispatch = await bootstrap.start(settings, clock)
        app.state.dispatch = dispatch
        app.state.token_verifier = dispatch.verifier
        try:
            yield
        finally:
            await bootstrap.stop(dispatch)

    app = FastAPI(
        title="dispatch",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "work orders", "description": "Report, work and close work orders."},
            {"name": "projects", "description": "The tenant's project registry."},
            {
                "name": "assignment",
                "description": "Staff directory, rosters, dispatch rules, queue, suggestions.",
            },
            {"name": "operations", "description": "Health and readiness."},
        ],
    )
    install_problem_handlers(app)
    app.include_router(work_orders.router)
    app.include_router(sla.router)
    app.include_router(sla_policies.router)
    app.include_router(projects.router)
    app.include_router(staff.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, service=settings.service_name)
    return app
