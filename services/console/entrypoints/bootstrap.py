"""Wire the console once: settings, catalogs, sessions, and the HTTP clients of dispatch,
notify and reporting."""

from __future__ import annotations

import gettext
from dataclasses import dataclass

import httpx

from services.console.adapters.catalogs import load_all
from services.console.adapters.memory_sessions import MemorySessionStore
from services.console.adapters.oidc_provider import OidcProvider
from services.console.adapters.service_api import ServiceApi
from services.console.domain.languages import Language
from services.console.service_layer.oidc import OidcSignIn
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
    sign_in: DevSignIn | None
    """The development sign-in (development only)."""
    oidc: OidcSignIn | None
    """The OpenID Connect sign-in (everywhere else: the only one there)."""
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
    replaces the network to that service), and of the identity provider outside development."""
    problem = settings.start_problem()
    if problem is not None:
        raise ValueError(problem)
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
    verifier = settings.token_verifier()
    clients = [dispatch_client, notify_client, reporting_client]
    oidc = None
    if settings.oidc_sign_in:
        provider_client = httpx.AsyncClient(timeout=settings.upstream_timeout_seconds)
        clients.append(provider_client)
        oidc = _oidc_sign_in(settings, provider_client, verifier, clock)
    return Console(
        settings=settings,
        clock=clock,
        sessions=sessions,
        dispatch=dispatch,
        notify=ServiceApi(notify_client, "notify"),
        reporting=ServiceApi(reporting_client, "reporting"),
        sign_in=None if settings.oidc_sign_in else DevSignIn(settings, dispatch),
        oidc=oidc,
        translations=load_all(),
        verifier=verifier,
        clients=tuple(clients),
    )


def _oidc_sign_in(
    settings: ConsoleSettings, client: httpx.AsyncClient, verifier: TokenVerifier, clock: Clock
) -> OidcSignIn:
    # start_problem() has made sure these are set.
    issuer, client_id = settings.oidc_issuer or "", settings.oidc_client_id or ""
    secret = settings.oidc_client_secret
    provider = OidcProvider(
        client,
        issuer=issuer,
        client_id=client_id,
        # Empty is unset (a compose file passes `${OIDC_CLIENT_SECRET:-}`): a public client.
        client_secret=(secret.get_secret_value() if secret else "") or None,
    )
    return OidcSignIn(
        provider,
        verifier,
        clock,
        client_id=client_id,
        redirect_url=settings.oidc_redirect_url or "",
        scopes=settings.oidc_scopes,
        capacity=settings.max_sessions,
    )


async def stop(console: Console) -> None:
    """Close the clients of dispatch, notify and reporting."""
    for client in console.clients:
        await client.aclose()
