"""The console's connections to the services: never reused as a service closes them."""

from __future__ import annotations

import uvicorn

from services.console.entrypoints import bootstrap
from services.console.settings import ConsoleSettings


async def test_the_console_lets_go_of_an_idle_connection_before_a_service_closes_it() -> None:
    # uvicorn closes a connection idle for `timeout_keep_alive`; httpx's default keeps one
    # exactly as long, and a request sent on it as it closes got no answer (a page then
    # said "reporting is not answering"). httpx keeps the expiry on its pool, not in public.
    closes_after = uvicorn.Config("services.console.entrypoints.app:create_app").timeout_keep_alive
    console = await bootstrap.start(ConsoleSettings(environment="development"))
    try:
        for client in console.clients:
            assert client._transport._pool._keepalive_expiry < closes_after  # type: ignore[attr-defined]
    finally:
        await bootstrap.stop(console)
