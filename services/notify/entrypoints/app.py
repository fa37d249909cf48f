"""notify's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify.entrypoints import bootstrap
from services.notify.entrypoints.routes import (
    configuration,
    dead_letters,
    deliveries,
    dev_outbox,
    health,
    inbox,
    residents,
)
from services.notify.settings import NotifySettings
from shared.clock import Clock
from shared.http.app import service_app

DESCRIPTION = """
Turns work-order events into messages to residents, staff and systems (webhooks signed
per Standard Webhooks, e-mail, SMS, WeCom/DingTalk/Feishu robots, the in-app inbox) and
records every delivery. Its own events go on `events.<tenant>.<project>.notification.*`.

Authenticate with `Authorization: Bearer <JWT>` (`wo token` mints one locally). Errors
are RFC 9457 problem details with a machine `code`.
"""


def create_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; the database, consumer, sender and outbox start with the lifespan."""
    settings = settings or NotifySettings()
    return service_app(
        settings,
        description=DESCRIPTION,
        start=lambda: bootstrap.start(settings, clock),
        stop=bootstrap.stop,
        state_name="notify",
        routers=[
            deliveries.router,
            dead_letters.router,
            inbox.router,
            configuration.router,
            dev_outbox.router,
            residents.router,
            health.router,
        ],
        tags=[
            {"name": "deliveries", "description": "What was sent to whom, and how it went."},
            {"name": "dead letters", "description": "What notify gave up on, and retrying it."},
            {"name": "inbox", "description": "The caller's in-app messages."},
            {
                "name": "configuration",
                "description": "Who hears what: contacts, roles, routes and the tenant's policies.",
            },
            {
                "name": "development",
                "description": "The development outbox: what SMS and e-mail would have sent "
                "on a local stack without providers (404 outside development).",
            },
        ],
    )
