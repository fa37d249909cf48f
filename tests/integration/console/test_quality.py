"""Headquarters quality's page over a real dispatch and a real reporting: the figures of
the period against their targets with their trends, the drill-down to the orders behind a
figure (by number), the breach list, and the exports fetched with the user's token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.reporting.entrypoints.app import create_app as create_reporting_app
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.clock import ManualClock
from tests.conftest import FreshPostgresDatabase
from tests.integration.console.support import ConsoleStack, running_console
from tests.integration.console.test_console import CALL
from tests.integration.console.test_messages_sent import relay
from tests.integration.dispatch.api_support import NOW, auth
from tests.integration.dispatch.test_sla_api import scheduler_of
from tests.integration.notify.support import eventually
from wo.processes import NatsServer

HQ = "dev-hq_quality"


JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.")
"""A signed token anywhere in a page."""


@dataclass
class QualityStack:
    """The console over dispatch and reporting, reporting's clock beside dispatch's."""

    console: ConsoleStack
    reporting: httpx.AsyncClient
    reporting_clock: ManualClock
    nats_url: str

    def advance(self, delta: timedelta) -> None:
        """Let time pass for dispatch, the console and reporting alike."""
        self.console.api.clock.advance(delta)
        self.reporting_clock.advance(delta)


@pytest.fixture
async def reporting_database(database_url: str) -> AsyncIterator[str]:
    """reporting's own database beside dispatch's."""
    if database_url.startswith("sqlite"):
        yield database_url.replace("test.db", "reporting.db")
        return
    async with FreshPostgresDatabase() as url:
        yield url


@asynccontextmanager
async def running_reporting(
    database_url: str, nats_url: str, clock: ManualClock
) -> AsyncIterator[httpx.AsyncBaseTransport]:
    """reporting in process (its projector on `nats_url`), and a transport to its app."""
    settings = ReportingSettings(
        environment="development", database_url=database_url, nats_url=nats_url
    )
    app = create_reporting_app(settings, clock)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


@pytest.fixture
async def quality(
    database_url: str, reporting_database: str, nats_server: NatsServer
) -> AsyncIterator[QualityStack]:
    clock = ManualClock(NOW)
    async with (
        running_reporting(reporting_database, nats_server.url, clock) as transport,
        running_console(database_url, reporting_transport=transport) as console,
        httpx.AsyncClient(transport=transport, base_url="http://reporting") as client,
    ):
        yield QualityStack(console, client, clock, nats_server.url)


async def take_call(stack: QualityStack, **changes: str) -> dict[str, object]:
    """Customer service takes a call in the console; dispatch's order for it."""
    async with stack.console.browser() as cs:
        await cs.sign_in("dev-customer_service")
        taken = await cs.submit("/calls", "/calls", **{**CALL, **changes})
        assert taken.status_code == 303, taken.text
    listed = await stack.console.api.client.get(
        "/v1/work-orders", headers=auth(Role.HQ_QUALITY), params={"limit": 1}
    )
    order: dict[str, object] = listed.json()["items"][0]
    return order


async def repaired_and_breached(stack: QualityStack) -> tuple[dict[str, object], dict[str, object]]:
    """One repair done in 20 minutes on site, one left waiting until its arrival clock
    breached; both orders' events relayed to reporting, which has folded them."""
    api = stack.console.api
    done = await take_call(stack)
    done_id = str(done["id"])
    assigned = await api.command(done_id, "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    assert assigned.status_code == 200, assigned.text
    stack.advance(timedelta(minutes=20))
    for name, body in (("arrive", None), ("start-work", None), ("complete", {"summary": "换阀"})):
        answer = await api.command(done_id, name, Role.TECHNICIAN, body, subject="tech-wang")
        assert answer.status_code == 200, answer.text
    waiting = await take_call(stack, unit="1-102", phone="13800000001")
    for _ in range(24):  # two hours in five-minute steps: the arrival clock breaches
        stack.advance(timedelta(minutes=5))
        await scheduler_of(api).fire_due()
    for order in (done, waiting):
        await relay(stack.console, stack.nats_url, str(order["id"]))

    async def folded() -> bool:
        answer = await stack.reporting.get("/v1/kpis/at-risk", headers=auth(Role.HQ_QUALITY))
        return bool(answer.json()["orders"])

    await eventually(folded, what="reporting folding the breach")
    return done, waiting


def cards(html: str) -> dict[str, str]:
    """Each KPI card's HTML by its KPI."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'<li class="card kpi" data-kpi="([a-z_]+)"(.*?)</li>\n', html, re.S)
    }


def shanghai_time_shown(row: str) -> bool:
    """Whether the row's `<time>` shows its instant on Shanghai's wall clock (today: HH:MM)."""
    found = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', row)
    assert found is not None, row
    instant = datetime.fromisoformat(found.group(1))
    assert instant.utcoffset() == timedelta(0)
    return found.group(2) == instant.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")


def visible_text(html: str) -> str:
    """The page's text without its tags and attributes."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


async def test_headquarters_reads_the_month_against_targets_with_trends_and_breaches(
    quality: QualityStack,
) -> None:
    done, waiting = await repaired_and_breached(quality)
    async with quality.console.browser() as hq:
        home = await hq.sign_in(HQ)
        assert home.headers["location"] == "/quality"
        page = await hq.page("/quality")
        assert page.status_code == 200, page.text
        html = page.text
        # The period is shown: this month in the project's zone, March 2026 in Shanghai.
        assert "2026-03-01" in html and "2026-03-31" in html and "Asia/Shanghai" in html
        text = visible_text(html)
        # Names in the user's language, never the raw keys or UUIDs.
        assert "到场时长" in text and "业主综合满意率" in text
        assert "time_to_arrive" not in text and "lt_1d" not in text
        assert str(waiting["id"]) not in text and str(done["id"]) not in text
        found = cards(html)
        arrive = found["time_to_arrive"]
        assert "20 分钟" in arrive and 'data-testid="chart"' in arrive
        assert 'href="/quality/orders?' in arrive
        # Nobody rated anything yet: a clear empty state, not an empty box.
        assert 'data-testid="chart-empty"' in found["satisfaction"]
        assert "暂无数据" in found["satisfaction"]
        # A figure with a target says in words whether it meets it.
        timeliness = found["repair_timeliness"]
        assert "未达目标" in timeliness and "✗" in timeliness
        assert 'data-testid="target-line"' in timeliness
        # The breach list: the waiting order by its number, its clock in Chinese.
        breaches = html.split('data-testid="at-risk"')[1]
        row = breaches.split(f'data-order="{waiting["number"]}"')[1].split("</tr>")[0]
        assert "到场" in row and "已超时" in row
        assert "阳光花园" in row
        # The due time on Shanghai's wall clock, not UTC's.
        assert shanghai_time_shown(row)


async def test_the_drill_down_lists_the_orders_behind_a_figure_by_number(
    quality: QualityStack,
) -> None:
    done, waiting = await repaired_and_breached(quality)
    async with quality.console.browser("en") as hq:
        await hq.sign_in(HQ)
        page = await hq.page("/quality/orders", params={"kpi": "time_to_arrive"})
        assert page.status_code == 200, page.text
        text = visible_text(page.text)
        assert "Orders behind Time to arrive" in text
        assert f'data-order="{done["number"]}"' in page.text
        assert str(done["number"]) in text and str(done["id"]) not in text
        assert "20 min" in text and "1 of 1 shown." in text
        breaches = await hq.page("/quality/orders", params={"kpi": "sla_breaches"})
        row = breaches.text.split(f'data-order="{waiting["number"]}"')[1].split("</tr>")[0]
        assert '<span class="label">Arrival</span>' in row and "阳光花园" in row
        kept = breaches.text.split('data-testid="period-form"')[1].split("</form>")[0]
        assert '<input type="hidden" name="kpi" value="sla_breaches">' in kept
        # The breach is dated at the arrival's due time, shown on Shanghai's wall clock.
        assert shanghai_time_shown(row)
        timeliness = await hq.page("/quality/orders", params={"kpi": "repair_timeliness"})
        failed = timeliness.text.split(f'data-order="{waiting["number"]}"')[1].split("</tr>")[0]
        assert "Not in the numerator" in failed
        unknown = await hq.page("/quality/orders", params={"kpi": "../projector"})
        assert unknown.status_code == 404
        refused = await hq.page("/quality/orders", params={"kpi": "no_such_kpi"})
        assert refused.status_code == 404


async def test_the_period_is_chosen_and_a_wrong_one_is_said(quality: QualityStack) -> None:
    async with quality.console.browser("en") as hq:
        await hq.sign_in(HQ)
        day = await hq.page("/quality", params={"span": "day", "from": "2026-03-02"})
        assert day.status_code == 200
        assert 'data-testid="span-day" aria-pressed="true"' in day.text
        period = day.text.split('data-testid="period">')[1].split("</p>")[0]
        assert period.count("2026-03-02") == 4 and "(Day)" in period
        assert 'action="/quality"' in day.text
        wrong = await hq.page(
            "/quality", params={"span": "range", "from": "2026-03-10", "to": "2026-03-01"}
        )
        assert "The period ends before it starts; this month is shown instead." in wrong.text
        assert 'data-testid="span-month" aria-pressed="true"' in wrong.text


async def test_exports_come_through_the_console_without_the_token(
    quality: QualityStack,
) -> None:
    await repaired_and_breached(quality)
    async with quality.console.browser() as hq:
        await hq.sign_in(HQ)
        page = await hq.page("/quality")
        # A JWT is three base64url parts joined by dots, its header starting `eyJ`; a bare
        # `eyJ` also turns up inside a random CSRF token now and then.
        assert "Bearer" not in page.text and JWT.search(page.text) is None
        link = re.search(r'href="(/quality/export\?[^"]*format=csv[^"]*)"', page.text)
        assert link is not None
        csv = await hq.page(unescape(link.group(1)))
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        assert 'filename="kpis_2026-03-01_2026-04-01.csv"' in csv.headers["content-disposition"]
        rows = csv.content.decode("utf-8-sig").splitlines()
        assert rows[0].startswith("bucket,kpi,")
        assert any(r.startswith("period,time_to_arrive,") for r in rows)
        assert any(r.startswith("2026-03-02,time_to_arrive,") for r in rows)
        xlsx = await hq.page("/quality/export", params={"format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
        assert (await hq.page("/quality/export", params={"format": "pdf"})).status_code == 404


async def test_roles_without_the_page_are_refused_and_managers_see_their_projects(
    quality: QualityStack,
) -> None:
    async with quality.console.browser("en") as tech:
        await tech.sign_in("dev-technician")
        assert (await tech.page("/quality")).status_code == 403
        assert (await tech.page("/quality/export", params={"format": "csv"})).status_code == 403
    async with quality.console.browser("en") as supervisor:
        await supervisor.sign_in("dev-supervisor")
        page = await supervisor.page("/quality")
        assert page.status_code == 200
        assert 'href="/quality" aria-current="page"' in page.text
        assert "Satisfaction" in visible_text(page.text)


async def test_the_figures_follow_new_orders_without_a_reload(quality: QualityStack) -> None:
    async with quality.console.browser() as hq:
        await hq.sign_in(HQ)
        page = await hq.page("/quality", params={"span": "week", "from": "2026-03-02"})
        live = re.search(r'data-live="(/quality/live\?[^"]*)"', page.text)
        assert live is not None
        url = unescape(live.group(1))
        assert "span=week" in url and "from=2026-03-02" in url
        before = await hq.page(url)
        assert before.headers["x-console-fragment"] == "1"
        assert 'data-testid="chart-empty"' in cards(before.text)["time_to_arrive"]
        assert 'data-testid="at-risk-empty"' in before.text
        await repaired_and_breached(quality)
        after = await hq.page(url)
        arrive = cards(after.text)["time_to_arrive"]
        assert "20 分钟" in arrive and 'data-testid="chart"' in arrive
        assert 'data-testid="at-risk"' in after.text
