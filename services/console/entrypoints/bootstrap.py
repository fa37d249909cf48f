"""Wire the console once: settings, catalogs, sessions, and the HTTP clients of dispatch,
notify and reporting."""

from __future__ import annotations

import gettext
from dataclasses import dataclass

import httpx

from services.console.adapters.catalogs import load_all
from services.console.adapters.memory_sessions import MemorySessionStore
from services.console.adapters.service_api import ServiceApi
from services.console.domain.languages import Language
from services.console.service_layer.people import DevSignIn
from services.console.service_layer.sessions import Sessions
from services.console.settings import ConsoleSettings
from shared.auth import TokenVerifier
from shared.clock import Clock, SystemClock

UPSTREAM_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=2.0
)
"""The console's connections to the services. A service (uvicorn) closes a connection idle
for 5 s; a client keeping it as long may send a request on it as it closes and get no
answer, which a page shows as "not answering". Letting go after 2 s avoids that race."""


@dataclass
class Console:
    """The running parts of one console process."""

    settings: ConsoleSettings
    clock: Clock
    sessions: Sessions
    dispatch: ServiceApi
    notify: ServiceApi
    reporting: ServiceApi
    sign_in: DevSignIn
    translations: dict[Language, gettext.NullTranslations]
    verifier: TokenVerifier
    clients: tuple[httpx.AsyncClient, ...]


async def start(
    settings: ConsoleSettings,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    notify_transport: httpx.AsyncBaseTransport | None = None,
    reporting_transport: httpx.AsyncBaseTransport | None = None,
) -> Console:
    """Load the catalogs and open the clients of dispatch, notify and reporting (a transport
    replaces the network to that service)."""
    clock = clock or SystemClock()
    dispatch_client, notify_client, reporting_client = (
        httpx.AsyncClient(
            base_url=url,
            timeout=settings.upstream_timeout_seconds,
            transport=through,
            limits=UPSTREAM_LIMITS,
            # The console calls its own stack's services, never through a proxy from the
            # environment.
            trust_env=False,
        )
        for url, through in (
            (settings.dispatch_url, transport),
            (settings.notify_url, notify_transport),
            (settings.reporting_url, reporting_transport),
        )
    )
    dispatch = ServiceApi(dispatch_client, "dispatch")
    sessions = Sessions(
        MemorySessionStore(settings.max_sessions), clock, settings.session_idle_minutes * 60
    )
    return Console(
        settings=settings,
        clock=clock,
        sessions=sessions,
        dispatch=dispatch,
        notify=ServiceApi(notify_client, "notify"),
        reporting=ServiceApi(reporting_client, "reporting"),
        sign_in=DevSignIn(settings, dispatch),
        translations=load_all(),
        verifier=settings.token_verifier(),
        clients=(dispatch_client, notify_client, reporting_client),
    )


async def stop(console: Console) -> None:
    """Close the clients of dispatch, notify and reporting."""
    for client in console.clients:
        await client.aclose()
