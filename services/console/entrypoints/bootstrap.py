"""Wire the console once: settings, catalogs, sessions, and the HTTP client of dispatch."""

from __future__ import annotations

import gettext
from dataclasses import dataclass

import httpx

from services.console.adapters.catalogs import load_all
from services.console.adapters.dispatch_api import DispatchApi
from services.console.adapters.memory_sessions import MemorySessionStore
from services.console.domain.languages import Language
from services.console.service_layer.people import DevSignIn
from services.console.service_layer.sessions import Sessions
from services.console.settings import ConsoleSettings
from shared.auth import TokenVerifier
from shared.clock import Clock, SystemClock


@dataclass
class Console:
    """The running parts of one console process."""

    settings: ConsoleSettings
    clock: Clock
    sessions: Sessions
    dispatch: DispatchApi
    sign_in: DevSignIn
    translations: dict[Language, gettext.NullTranslations]
    verifier: TokenVerifier
    client: httpx.AsyncClient


async def start(
    settings: ConsoleSettings,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Console:
    """Load the catalogs and open the client of dispatch (`transport` replaces the network)."""
    clock = clock or SystemClock()
    client = httpx.AsyncClient(
        base_url=settings.dispatch_url,
        timeout=settings.upstream_timeout_seconds,
        transport=transport,
        # The console calls its own stack's services, never through a proxy from the environment.
        trust_env=False,
    )
    dispatch = DispatchApi(client)
    sessions = Sessions(
        MemorySessionStore(settings.max_sessions), clock, settings.session_idle_minutes * 60
    )
    return Console(
        settings=settings,
        clock=clock,
        sessions=sessions,
        dispatch=dispatch,
        sign_in=DevSignIn(settings, dispatch),
        translations=load_all(),
        verifier=settings.token_verifier(),
        client=client,
    )


async def stop(console: Console) -> None:
    """Close the client of dispatch."""
    await console.client.aclose()
