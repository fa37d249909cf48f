"""The console in process over a real dispatch app, with a staffed project, and page helpers."""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from services.console.entrypoints.app import create_app
from services.console.entrypoints.bootstrap import UPSTREAM_LIMITS
from services.console.settings import ConsoleSettings
from services.dispatch.entrypoints.app import create_app as create_dispatch_app
from services.dispatch.settings import DispatchSettings
from services.notify.domain.config import NotifyConfig
from services.notify.entrypoints import bootstrap as notify_bootstrap
from services.notify.entrypoints.app import create_app as create_notify_app
from services.notify.entrypoints.bootstrap import Notify
from services.notify.settings import NotifySettings
from services.reporting.entrypoints.app import create_app as create_reporting_app
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.clock import Clock, ManualClock
from tests.integration.dispatch.api_support import NOW, TENANT, Api, auth, running_api
from wo.processes import free_port

BUILDINGS = [{"id": "b1", "name": "1号楼", "households": 600}]
TECHNICIANS = {
    "tech-wang": ("王师傅", ["plumbing", "electrical"]),
    "tech-zhao": ("赵师傅", ["plumbing", "elevator"]),
}


async def staff_the_projects(client: httpx.AsyncClient) -> None:
    """Buildings for `sunny`, a maintenance team on duty, and electrical work offered automatically."""
    hq = auth(Role.HQ_QUALITY)
    writes: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (
            "/v1/projects/sunny",
            {
                "details": {
                    "name": "阳光花园",
                    "time_zone": "Asia/Shanghai",
                    "households": 1200,
                    "buildings": BUILDINGS,
                }
            },
            hq,
        ),
        ("/v1/teams/maintenance", {"name": "维修班", "projects": ["sunny", "river"]}, hq),
    ]
    for tech, (name, trades) in TECHNICIANS.items():
        record = {"name": name, "team": "maintenance", "trades": trades, "projects": ["sunny"]}
        writes.append((f"/v1/staff/{tech}", record, hq))
        own = auth(Role.TECHNICIAN, subject=tech)
        writes.append((f"/v1/staff/{tech}/availability", {"availability": "on_duty"}, own))
    rule = {"mode": "auto", "trade": "electrical", "offer_seconds": 600}
    writes.append(("/v1/projects/sunny/dispatch-rules/electrical", rule, hq))
    for path, body, headers in writes:
        response = await client.put(path, json=body, headers=headers)
        assert response.status_code == 200, f"{path}: {response.text}"


@dataclass
class Browser:
    """One browser's cookies on the in-process console."""

    client: httpx.AsyncClient

    async def page(self, path: str, **kw: Any) -> httpx.Response:
        """GET a page (redirects not followed, so tests see them)."""
        return await self.client.get(path, **kw)

    async def submit(self, form_page: str, action: str, **fields: str) -> httpx.Response:
        """Read the CSRF token (and key) from `form_page`, then POST `fields` to `action`."""
        page = await self.client.get(form_page)
        assert page.status_code == 200, page.text
        sent = {"csrf": hidden(page.text, "csrf")}
        key = hidden(page.text, "key", required=False)
        if key is not None:
            sent["key"] = key
        sent.update(fields)
        return await self.client.post(action, data=sent)

    async def sign_in(self, subject: str) -> httpx.Response:
        """Sign in as `subject` from the development sign-in page."""
        response = await self.submit("/sign-in", "/sign-in", person=subject)
        assert response.status_code == 303, response.text
        return response


def hidden(html: str, name: str, required: bool = True) -> str | None:
    """The value of the first hidden input called `name` in `html`."""
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    if found is None:
        assert not required, f"no hidden {name!r} in the page"
        return None
    return unescape(found.group(1))


def notes(html: str) -> list[str]:
    """The one-time notes shown on a page."""
    return [unescape(n) for n in re.findall(r'data-testid="note">([^<]*)<', html)]


@dataclass
class ConsoleStack:
    """dispatch and the console, both in process; `browser()` opens a new cookie jar."""

    api: Api
    app: Any

    @asynccontextmanager
    async def browser(self, language: str = "zh-CN") -> AsyncIterator[Browser]:
        """A fresh browser whose Accept-Language is `language`."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://console",
            headers={"Accept-Language": language},
        ) as client:
            yield Browser(client)


@asynccontextmanager
async def running_console(
    database_url: str,
    notify_transport: httpx.AsyncBaseTransport | None = None,
    reporting_transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[ConsoleStack]:
    """dispatch (no scheduler) with a staffed project, and the console calling it (and the
    notify behind `notify_transport`, the reporting behind `reporting_transport`, when given)."""
    async with running_api(database_url, sla_scheduler_enabled=False) as api:
        await staff_the_projects(api.client)
        settings = ConsoleSettings(environment="development", dev_tenant=TENANT)
        app = create_app(settings, api.clock, api.transport, notify_transport, reporting_transport)
        async with app.router.lifespan_context(app):
            yield ConsoleStack(api, app)


class LateTransport(httpx.AsyncBaseTransport):
    """A transport to an app started later (dispatch, for a notify started before it)."""

    def __init__(self) -> None:
        self.target: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Hand the request to the target, once there is one."""
        if self.target is None:
            raise httpx.ConnectError("not started yet", request=request)
        return await self.target.handle_async_request(request)


@asynccontextmanager
async def running_notify(
    database_url: str,
    nats_url: str,
    config: NotifyConfig,
    clock: Clock,
    dispatch: httpx.AsyncBaseTransport | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[Notify, httpx.AsyncBaseTransport]]:
    """notify on its own database with `config` imported, on `clock` (quiet hours and
    meal breaks hold residents' messages on the wall clock), and a transport to its app;
    `dispatch` is how it reaches dispatch (residents' phones at send time)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "notify.json"
        path.write_text(config.model_dump_json(), encoding="utf-8")
        values: dict[str, Any] = {
            "environment": "development",
            "database_url": database_url,
            "nats_url": nats_url,
            "notify_config_file": path,
            "dispatch_url": "http://dispatch",
            **settings,
        }
        notify = await notify_bootstrap.start(
            NotifySettings(**values), clock, dispatch_transport=dispatch
        )
        try:
            app = create_notify_app(notify.settings, clock)
            app.state.notify = notify
            app.state.token_verifier = notify.verifier
            yield notify, httpx.ASGITransport(app=app)
        finally:
            await notify_bootstrap.stop(notify)


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """Serve `app` over real HTTP on a loopback port in this event loop; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started or task.done():
                break
            await asyncio.sleep(0.025)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True)
class ServedStack:
    """The URLs of a served stack: the console's and those of the services behind it."""

    console: str
    dispatch: str
    notify: str
    reporting: str


class Recorded(httpx.AsyncBaseTransport):
    """Sends through `inner` and keeps every request, to see what a page asked the services."""

    def __init__(self, inner: httpx.AsyncBaseTransport, requests: list[httpx.Request]) -> None:
        self._inner = inner
        self._requests = requests

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._requests.append(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def served_stack(database_url: str, nats_url: str) -> AsyncIterator[str]:
    """The stack of `served_services`; yields the console's URL."""
    async with served_services(database_url, nats_url) as served_urls:
        yield served_urls.console


@asynccontextmanager
async def served_services(
    database_url: str,
    nats_url: str,
    clock: Clock | None = None,
    upstream: list[httpx.Request] | None = None,
) -> AsyncIterator[ServedStack]:
    """dispatch (its relay on), notify and reporting (their own SQLite files beside
    dispatch's) and the console, all served over HTTP; yields their URLs.

    notify runs on a clock fixed at 10:00 in Shanghai, so quiet hours and meal breaks
    hold none of the residents' messages whatever the hour the test runs at; the others
    on the wall clock, unless `clock` is given: then every service runs on it, and
    dispatch's SLA scheduler is off (on a clock the test moves, it would write warnings
    and breaches concurrently with the test's own commands). The console re-reads its
    live parts every second, so a browser sees changes quickly. With `upstream`, every
    request the console sends to a service is kept there.
    """
    dispatch_app = create_dispatch_app(
        DispatchSettings(
            environment="development",
            database_url=database_url,
            nats_url=nats_url,
            sla_scheduler_enabled=clock is None,
        ),
        clock,
    )
    reporting_app = create_reporting_app(
        ReportingSettings(
            environment="development",
            database_url=database_url.replace("test.db", "reporting.db"),
            nats_url=nats_url,
        ),
        clock,
    )
    async with served(dispatch_app) as dispatch_url:
        # notify asks dispatch for residents' phones when it sends (as `wo up` wires it).
        notify_app = create_notify_app(
            NotifySettings(
                environment="development",
                database_url=database_url.replace("test.db", "notify.db"),
                nats_url=nats_url,
                sender_poll_seconds=0.1,
                dispatch_url=dispatch_url,
            ),
            clock or ManualClock(NOW),
        )
        async with (
            served(notify_app) as notify_url,
            served(reporting_app) as reporting_url,
        ):
            async with httpx.AsyncClient(base_url=dispatch_url, trust_env=False) as client:
                for project in ("sunny", "river"):
                    details = {"name": project.title(), "households": 100}
                    registered = await client.post(
                        "/v1/projects",
                        json={"project": project, "details": details},
                        headers=auth(Role.HQ_QUALITY),
                    )
                    assert registered.status_code == 201, registered.text
                await staff_the_projects(client)
            settings = ConsoleSettings(
                environment="development",
                dev_tenant=TENANT,
                dispatch_url=dispatch_url,
                notify_url=notify_url,
                reporting_url=reporting_url,
                refresh_seconds=1,
            )
            transports: list[httpx.AsyncBaseTransport | None] = [None, None, None]
            if upstream is not None:
                transports = [
                    Recorded(httpx.AsyncHTTPTransport(limits=UPSTREAM_LIMITS), upstream)
                    for _ in range(3)
                ]
            console_app = create_app(settings, clock, *transports)
            async with served(console_app) as console_url:
                yield ServedStack(console_url, dispatch_url, notify_url, reporting_url)
