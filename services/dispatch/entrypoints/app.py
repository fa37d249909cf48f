"""dispatch's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from services.dispatch.entrypoints import bootstrap
from services.dispatch.entrypoints.routes import (
    follow_ups,
    health,
    privacy,
    projects,
    public_holidays,
    resident_contact,
    resident_privacy,
    residents,
    sla,
    sla_policies,
    staff,
    work_orders,
)
from services.dispatch.settings import DispatchSettings
from shared.clock import Clock
from shared.http.app import service_app

DESCRIPTION = """
Records repair and complaint work orders as immutable events and publishes them,
in order, on NATS JetStream (`events.<tenant>.<project>.workorder.<event>`).

Authenticate with `Authorization: Bearer <JWT>` (`wo token` mints one locally).
Commands accept `Idempotency-Key` (the same caller's repeat returns the first result;
keys are scoped to the caller's tenant and subject, and a replay is authorized like the
command, so it answers 404 to whoever may not see the work order) and
`If-Match: "<version>"` (412 if the work order moved on). Errors are RFC 9457
problem details with a machine `code`.
"""


def create_app(settings: DispatchSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; the database, relay and NATS start with the lifespan."""
    settings = settings or DispatchSettings()
    return service_app(
        settings,
        description=DESCRIPTION,
        start=lambda: bootstrap.start(settings, clock),
        stop=bootstrap.stop,
        state_name="dispatch",
        routers=[
            work_orders.router,
            sla.router,
            sla_policies.router,
            public_holidays.router,
            follow_ups.router,
            residents.router,
            resident_privacy.router,
            resident_contact.router,
            privacy.router,
            projects.router,
            staff.router,
            health.router,
        ],
        tags=[
            {"name": "work orders", "description": "Report, work and close work orders."},
            {"name": "projects", "description": "The tenant's project registry."},
            {
                "name": "privacy",
                "description": "Residents' personal data: the access log, erasure, correction, "
                "export and retention (docs/privacy.md).",
            },
            {
                "name": "assignment",
                "description": "Staff directory, rosters, dispatch rules, queue, suggestions.",
            },
        ],
    )
