"""The console's FastAPI application: server-rendered pages for each role of the staff."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console.entrypoints import bootstrap
from services.console.entrypoints.labels import N_
from services.console.entrypoints.routes import (
    auth,
    calls,
    dispatch,
    inbox,
    notifications,
    notify_settings,
    oidc,
    operations,
    quality,
    rosters,
    setup,
    sla_policy,
    staff,
    tech,
)
from services.console.entrypoints.web import (
    NotSignedIn,
    PageRefused,
    Visit,
    visit_of,
)
from services.console.service_layer.ports import UpstreamError
from services.console.settings import ConsoleSettings
from shared.clock import Clock
from shared.http.app import service_app
from shared.logging import get_logger

log = get_logger(__name__)

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """
The staff's web console: customer service takes calls, dispatchers assign, technicians
work their orders on a phone. Pages are HTML; this document lists only the operations
routes. User guide: docs/console.md.
"""


UNAVAILABLE = {
    "dispatch": N_("dispatch is not answering; try again in a moment."),
    "notify": N_("notify is not answering; try again in a moment."),
    "reporting": N_("reporting is not answering; try again in a moment."),
}
REFUSED = {
    "dispatch": N_("dispatch refused: %(detail)s"),
    "notify": N_("notify refused: %(detail)s"),
    "reporting": N_("reporting refused: %(detail)s"),
}


async def _visit(request: Request) -> Visit:
    found = getattr(request.state, "visit", None)
    return found if isinstance(found, Visit) else await visit_of(request)


def create_app(
    settings: ConsoleSettings | None = None,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    notify_transport: httpx.AsyncBaseTransport | None = None,
    reporting_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the app; `transport` carries the calls to dispatch, `notify_transport` those to
    notify, `reporting_transport` those to reporting (tests give them the services' apps)."""
    settings = settings or ConsoleSettings()

    app = service_app(
        settings,
        description=DESCRIPTION,
        start=lambda: bootstrap.start(
            settings, clock, transport, notify_transport, reporting_transport
        ),
        stop=bootstrap.stop,
        state_name="console",
        routers=[
            operations.router,
            auth.router,
            oidc.router,
            calls.router,
            dispatch.router,
            tech.router,
            staff.router,
            notifications.router,
            inbox.router,
            quality.router,
            setup.router,
            rosters.router,
            sla_policy.router,
            notify_settings.router,
        ],
        tags=[{"name": "operations", "description": "Health and readiness."}],
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        visit = await _visit(request)
        return visit.redirect("/sign-in")

    @app.exception_handler(PageRefused)
    async def refused(request: Request, exc: PageRefused) -> Response:
        visit = await _visit(request)
        return visit.render("error.html", status=403, message=exc.reason)

    @app.exception_handler(UpstreamError)
    async def upstream(request: Request, exc: UpstreamError) -> Response:
        visit = await _visit(request)
        if exc.status == 401 and visit.user is not None:
            # The token expired or was revoked: sign in again.
            visit.session = visit.console.sessions.sign_out(visit.session)
            return visit.redirect("/sign-in")
        if exc.status >= 500:
            log.warning(
                "upstream_unavailable", service=exc.service, status=exc.status, code=exc.code
            )
            message = visit.gettext(UNAVAILABLE.get(exc.service, UNAVAILABLE["dispatch"]))
            return visit.render("error.html", status=503, message=message)
        refused = REFUSED.get(exc.service, REFUSED["dispatch"])
        message = visit.gettext(refused, detail=exc.detail)
        return visit.render("error.html", status=exc.status, message=message)

    @app.exception_handler(RequestValidationError)
    async def bad_path(request: Request, exc: RequestValidationError) -> Response:
        # Only path parameters are validated by FastAPI here (forms are read by hand).
        visit = await _visit(request)
        return visit.render(
            "error.html", status=404, message=visit.gettext("There is no such page.")
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        visit = await _visit(request)
        message = (
            visit.gettext("There is no such page.")
            if exc.status_code in (404, 422)
            else visit.gettext("The console could not do that.")
        )
        return visit.render("error.html", status=exc.status_code, message=message)

    return app
