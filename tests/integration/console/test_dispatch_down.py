"""A dispatch that does not answer shows as a page that says so, never as a crash."""

from __future__ import annotations

import httpx

from services.console.entrypoints.app import create_app
from services.console.settings import ConsoleSettings
from wo.processes import free_port


async def test_the_console_says_dispatch_is_not_answering() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    settings = ConsoleSettings(environment="development", dispatch_url=closed)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://console", headers={"Accept-Language": "en"}
        ) as client:
            page = await client.get("/sign-in")
            assert page.status_code == 503
            assert "The staff directory cannot be read now" in page.text
            ready = await client.get("/readyz")
            assert ready.status_code == 200
