"""reporting's own dashboard is retired: the KPI dashboard is the console's quality page.

`/dashboard/` (and `/`) send people there when reporting knows the console's address,
the old bookmark's project and days kept and its `#token=` left behind; otherwise they
answer a short page saying where the dashboard is. The API and the KPI stream stay.
"""

from __future__ import annotations

import httpx

from shared.auth import Role
from tests.integration.reporting.api_support import auth, caught_up, served_reporting
from tests.integration.reporting.conftest import Bus
from tests.integration.reporting.scripted_week import NOW, week
from wo.processes import NatsServer

CONSOLE = "http://127.0.0.1:8003"


async def test_the_old_dashboard_sends_people_to_the_consoles_quality_page(
    database_url: str, nats_server: NatsServer
) -> None:
    async with (
        served_reporting(database_url, nats_server.url, NOW, console_url=CONSOLE) as served,
        httpx.AsyncClient(base_url=served.url, trust_env=False) as client,
    ):
        bookmark = await client.get(
            "/dashboard/", params={"project": "sunny", "from": "2026-09-21", "to": "2026-09-28"}
        )
        assert bookmark.status_code == 307
        # The last day included, as the console reads a range; an empty fragment so a
        # browser does not carry the old address' `#token=<JWT>` over to the console.
        assert bookmark.headers["location"] == (
            f"{CONSOLE}/quality?project=sunny&span=range&from=2026-09-21&to=2026-09-27#"
        )
        for path in ("/", "/dashboard", "/dashboard/"):
            plain = await client.get(path)
            assert plain.status_code == 307, path
            assert plain.headers["location"] == f"{CONSOLE}/quality#"
        # Days that are not days are left to the console's default (this month).
        wrong = await client.get("/dashboard/", params={"from": "21.09.2026", "to": "x"})
        assert wrong.headers["location"] == f"{CONSOLE}/quality#"
        # The dashboard's files are gone.
        assert (await client.get("/dashboard/static/dashboard.js")).status_code == 404


async def test_without_the_consoles_address_the_old_dashboard_says_where_it_is(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    async with (
        served_reporting(database_url, nats_server.url, NOW) as served,
        httpx.AsyncClient(base_url=served.url, trust_env=False) as client,
    ):
        page = await client.get("/dashboard/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "The KPI dashboard is now the staff console's Quality page" in page.text
        assert "品质" in page.text and "CONSOLE_URL" in page.text
        # Nothing but the page itself: no script, and the services' policy on it.
        assert "<script" not in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        # The API is unchanged.
        events, _ = week()
        await caught_up(served.reporting, await bus.publish(events))
        figures = await client.get(
            "/v1/kpis",
            params={"from": "2026-09-21", "to": "2026-09-28"},
            headers=auth(Role.HQ_QUALITY),
        )
        assert figures.status_code == 200
        shown = {f["kpi"]: f["value"] for f in figures.json()["kpis"]}
        assert shown["satisfaction"] == 0.75
