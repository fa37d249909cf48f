"""Every page of every role in a real headless Chromium (Debian's), in Chinese and English.

The pages and who may open them come from the console's own model (`domain/roles.py`),
so a page added there is covered here without a word changed. For each staff role, a
browser signs in and opens each of its pages: none logs a console error or a page error,
no request fails or is answered with an error, and axe-core (the copy the
`axe-playwright-python` package ships) finds no WCAG 2.1 A/AA violation (every control
labelled, text contrast). Every control of the page is reached with Tab and shows its
focus. Every page a role may not open answers 403, and for the pages a technician may
not open, the services behind them refuse the technician's own token too, or narrow
their answer to the technician's own orders.

The same pass photographs each role's home page over a seeded, fixed-clock demo: desktop
1280 px wide, and the technician's also on a 390 px phone. Run with
`CONSOLE_SCREENSHOTS=docs/console` to write them where the user guide (docs/console.md)
shows them; without it they are written to the test's own folder, and
`test_the_user_guide_shows_each_roles_home_page` checks the committed ones.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.base import AXE_SCRIPT
from fastapi.routing import APIRoute
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize

from services.console.domain.roles import STAFF_ROLES, home_of, may_open, pages_of
from services.console.domain.roles import Page as ConsolePage
from services.console.entrypoints.app import create_app
from services.console.service_layer.people import dev_login
from services.console.settings import ConsoleSettings
from shared.auth import Role
from shared.clock import ManualClock
from tests.integration.console.browsing import DESKTOP, PHONE, Watch, needs_chromium, sign_in
from tests.integration.console.support import ServedStack, served_services
from tests.integration.dispatch.api_support import NOW, auth, report_body
from wo.processes import NatsServer

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "console.md"
SHOTS = ROOT / "docs" / "console"
LANGUAGES = ("zh-CN", "en")
SHOT_LANGUAGE = "zh-CN"
"""The photographs show the console as it opens by default: in Chinese."""

PERSON = {Role.TECHNICIAN: "tech-wang"}
"""Who signs in for a role: the demo's technician has work; other roles their dev login."""

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

CONTRAST = """
(selectors) => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const channel = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const behind = (e) => {
    for (let n = e; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  return selectors.map((selector) => {
    const e = document.querySelector(selector);
    const style = getComputedStyle(e);
    const ink = rgb(e instanceof SVGElement ? style.fill : style.color);
    const [a, b] = [luminance(ink), luminance(behind(e))].sort((x, y) => y - x);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    return [selector, (a + 0.05) / (b + 0.05), large ? 3 : 4.5];
  });
}
"""
"""WCAG's contrast ratio of each element's text (an SVG text's fill) on the first background
behind it, and the ratio AA asks of its size: for what axe-core leaves undecided."""

SIGN = """
const sign = (e) => e.type === "radio" ? `radio|${e.name}` : [e.tagName, e.id,
  e.getAttribute("name"), e.getAttribute("value"), e.getAttribute("href"),
  (e.textContent || "").trim().slice(0, 60)].join("|");
"""
"""A control's signature, the same after a live part is re-read (a radio group is one)."""

FOCUSABLE = f"""() => {{
{SIGN}
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const all = [...document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]")];
  return all.filter((e) => !e.disabled && e.tabIndex >= 0 && shown(e)
    && !e.closest("[inert], [hidden]")).map(sign);
}}"""
"""The signatures of the controls a keyboard user must reach with Tab."""

FOCUSED = f"""() => {{
{SIGN}
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return [sign(e), ring];
}}"""
"""The focused control's signature, and whether it shows where the focus is (an outline)."""


def shot_name(role: Role, phone: bool = False) -> str:
    """The file of `role`'s home page in docs/console/ (`customer-service.png`)."""
    return role.value.replace("_", "-") + ("-phone" if phone else "") + ".png"


def shots() -> dict[str, ViewportSize]:
    """Every photograph the guide shows, with the viewport it is taken in."""
    found = {shot_name(role): DESKTOP for role in STAFF_ROLES}
    found[shot_name(Role.TECHNICIAN, phone=True)] = PHONE
    return found


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (its IHDR chunk); fails on anything else."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR", "a PNG without its header chunk first"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def assert_photographs(folder: Path) -> None:
    """Every photograph is in `folder`, a PNG of its viewport's size."""
    for name, viewport in shots().items():
        path = folder / name
        assert path.is_file(), f"{path} is missing: run the browser test with CONSOLE_SCREENSHOTS"
        assert png_size(path.read_bytes()) == (viewport["width"], viewport["height"]), name


def test_the_user_guide_shows_each_roles_home_page() -> None:
    assert_photographs(SHOTS)
    guide = GUIDE.read_text(encoding="utf-8")
    for name in shots():
        assert f"(console/{name})" in guide, f"docs/console.md does not show console/{name}"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the photographs go: CONSOLE_SCREENSHOTS (docs/console to update the guide's),
    else the test's own folder."""
    chosen = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def page_paths() -> dict[ConsolePage, list[str]]:
    """Each page's own GET paths without parameters (the page, its live part, its lists),
    read from the console's routes so a page's new parts are covered too."""
    app = create_app(ConsoleSettings(environment="development"))
    paths: dict[ConsolePage, list[str]] = {page: [] for page in ConsolePage}
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        assert route.methods is not None  # FastAPI gives every APIRoute its methods
        if "GET" not in route.methods or "{" in route.path:
            continue
        for page in ConsolePage:
            if route.path == f"/{page}" or route.path.startswith(f"/{page}/"):
                paths[page].append(route.path)
    return paths


@dataclass
class Pass:
    """What one pass over every role's pages found."""

    watch: Watch = field(default_factory=Watch)
    inaccessible: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    not_refused: list[str] = field(default_factory=list)
    reads: dict[ConsolePage, list[httpx.Request]] = field(default_factory=lambda: defaultdict(list))


async def seed_demo(stack: ServedStack, clock: ManualClock) -> str:
    """The demo a screenshot shows, the same on every run: `clock` moves from 08:00 in
    Shanghai, two hours before NOW, to NOW.

    A repair completed (owed its follow-up visit), one under way with 王师傅, one in the
    queue and an electrical call offered to 王师傅 at NOW. Returns the id of the order in
    the queue, the one that is none of 王师傅's business.
    """
    service = auth(Role.CUSTOMER_SERVICE, subject=dev_login(Role.CUSTOMER_SERVICE))
    dispatcher = auth(Role.DISPATCHER, subject=dev_login(Role.DISPATCHER))
    wang = auth(Role.TECHNICIAN, projects=["sunny"], subject="tech-wang")

    async with httpx.AsyncClient(base_url=stack.dispatch, trust_env=False) as dispatch:

        async def report(minutes: int, **body: Any) -> str:
            clock.advance(timedelta(minutes=minutes))
            sent = await dispatch.post("/v1/work-orders", json=report_body(**body), headers=service)
            assert sent.status_code == 201, sent.text
            return str(sent.json()["id"])

        async def step(
            minutes: int, order: str, name: str, who: dict[str, str], **body: Any
        ) -> None:
            clock.advance(timedelta(minutes=minutes))
            path = f"/v1/work-orders/{order}/{name}"
            done = await dispatch.post(path, json=body or None, headers=who)
            assert done.status_code == 200, f"{name}: {done.text}"

        leak = await report(0, description="厨房水管漏水")
        await step(10, leak, "assign", dispatcher, assignee="tech-wang")
        await step(25, leak, "arrive", wang)
        await step(5, leak, "start-work", wang)
        blocked = await report(
            5, description="卫生间下水道堵塞", location={"building": "b1", "unit": "2-302"}
        )
        await step(25, leak, "complete", wang, summary="换了三通阀")
        await step(5, blocked, "assign", dispatcher, assignee="tech-wang")
        await step(10, blocked, "arrive", wang)
        await step(5, blocked, "start-work", wang)
        queued = await report(
            10,
            category="elevator",
            description="电梯按钮失灵",
            location={"building": "b1", "unit": "1-1201"},
        )
        await report(
            15,
            category="electrical",
            description="客厅插座冒火花",
            location={"building": "b1", "unit": "3-501"},
        )
    clock.advance(NOW - clock.now())
    assert clock.now() == NOW
    await reporting_counted(stack, open_orders=3)
    return queued


async def reporting_counted(stack: ServedStack, open_orders: int) -> None:
    """Wait until reporting has applied the demo's events (its backlog counts every open
    order), so every page shows the same figures and no live part changes under a check."""
    hq = auth(Role.HQ_QUALITY)
    async with httpx.AsyncClient(base_url=stack.reporting, trust_env=False) as reporting:
        for _ in range(300):
            board = (await reporting.get("/v1/kpis", headers=hq)).json()
            backlog = next(f for f in board["kpis"] if f["kpi"] == "backlog")
            if backlog["value"] == open_orders:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"reporting counted {backlog['value']} open orders, not {open_orders}")


@needs_chromium
@pytest.mark.timeout(300)  # about a minute alone; room for a busy machine
@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_of_every_role(
    database_url: str, nats_server: NatsServer, browser: Browser, folder: Path, language: str
) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("the pages are the same over either database; SQLite keeps this test short")
    clock = ManualClock(NOW - timedelta(hours=2))
    upstream: list[httpx.Request] = []
    found = Pass()
    async with served_services(database_url, nats_server.url, clock, upstream) as stack:
        queued = await seed_demo(stack, clock)
        paths = page_paths()
        for role in STAFF_ROLES:
            await every_page(browser, stack, role, language, found, upstream, paths, folder)
        if language == SHOT_LANGUAGE:
            await technician_on_a_phone(browser, stack, found, folder)
            await services_refuse_the_technician(found, queued)

    assert found.watch.problems == []
    assert found.inaccessible == [], "\n".join(found.inaccessible)
    assert found.unreachable == []
    assert found.not_refused == []
    if language == SHOT_LANGUAGE:
        assert_photographs(folder)


async def new_context(browser: Browser, language: str, phone: bool = False) -> BrowserContext:
    """A browser in `language` whose clock reads NOW, like the services' (the countdowns)."""
    if phone:
        context = await browser.new_context(
            locale=language, viewport=PHONE, is_mobile=True, has_touch=True
        )
    else:
        context = await browser.new_context(locale=language, viewport=DESKTOP)
    await context.clock.set_fixed_time(NOW)
    return context


async def every_page(
    browser: Browser,
    stack: ServedStack,
    role: Role,
    language: str,
    found: Pass,
    upstream: list[httpx.Request],
    paths: dict[ConsolePage, list[str]],
    folder: Path,
) -> None:
    """Sign in as `role`, open each of its pages and check it; then its refusals."""
    context = await new_context(browser, language)
    try:
        page = found.watch.page(await context.new_page(), f"{role} ({language})")
        await sign_in(page, stack.console, PERSON.get(role, dev_login(role)))
        await page.wait_for_url(f"{stack.console}/{home_of(role)}")
        for shown in pages_of(role):
            first = len(upstream)
            await page.goto(f"{stack.console}/{shown}")
            await check(page, f"{role} /{shown} ({language})", found)
            if role is Role.SUPERVISOR:
                found.reads[shown].extend(upstream[first:])
            if shown == home_of(role) and language == SHOT_LANGUAGE:
                await photograph(page, folder / shot_name(role))
        for refused in ConsolePage:
            if may_open(role, refused):
                continue
            for path in paths[refused]:
                answer = await context.request.get(f"{stack.console}{path}", max_redirects=0)
                if answer.status != 403:
                    found.not_refused.append(f"{role} {path}: {answer.status}")
    finally:
        await context.close()


async def technician_on_a_phone(
    browser: Browser, stack: ServedStack, found: Pass, folder: Path
) -> None:
    """The technician's page as it is used: on a 390 px phone."""
    context = await new_context(browser, SHOT_LANGUAGE, phone=True)
    try:
        page = found.watch.page(await context.new_page(), "technician on a phone")
        await sign_in(page, stack.console, PERSON[Role.TECHNICIAN])
        await page.wait_for_url(f"{stack.console}/{home_of(Role.TECHNICIAN)}")
        await check(page, "technician on a phone", found)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the phone page is {width} px wide"
        await photograph(page, folder / shot_name(Role.TECHNICIAN, phone=True))
    finally:
        await context.close()


async def check(page: Page, where: str, found: Pass) -> None:
    """axe-core's WCAG 2.1 A/AA rules, and every control reached with Tab."""
    await page.wait_for_function("window.consoleReady === true")
    await page.evaluate(AXE_SCRIPT)
    results = await page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations', 'incomplete']})",
        WCAG_AA,
    )
    # What axe could not decide counts too; text whose background it cannot read (the
    # charts' SVG ticks) is measured here instead.
    undecided = [v for v in results["incomplete"] if v["id"] != "color-contrast"]
    for violation in results["violations"] + undecided:
        targets = [", ".join(map(str, node["target"])) for node in violation["nodes"]]
        found.inaccessible.append(f"{where}: {violation['id']} at {'; '.join(targets[:5])}")
    unread = [
        str(node["target"][0])
        for v in results["incomplete"]
        if v["id"] == "color-contrast"
        for node in v["nodes"]
    ]
    for selector, ratio, needed in await page.evaluate(CONTRAST, unread):
        if ratio < needed:
            found.inaccessible.append(f"{where}: contrast {ratio:.2f} < {needed} at {selector}")
    focusable: list[str] = await page.evaluate(FOCUSABLE)
    missing = set(focusable)
    unringed: set[str] = set()
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    # Chromium also stops on scrollable regions and inside a date field (day, month, year,
    # its calendar button: not every stop rings the field), so allow more presses than
    # controls, and a control shows its focus when any of its stops does.
    for _ in range(3 * len(focusable) + 10):
        if not missing:
            break
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused is not None:
            control, ring = focused
            if ring:
                unringed.discard(control)
            elif control in missing:
                unringed.add(control)
            missing.discard(control)
    found.unreachable.extend(f"{where}: {c}" for c in sorted(missing))
    found.unreachable.extend(f"{where}: no visible focus on {c}" for c in sorted(unringed))


async def photograph(page: Page, path: Path) -> None:
    """The page as a reader sees it: scrolled to the top, nothing focused, fonts loaded."""
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.evaluate("document.fonts.ready.then(() => true)")
    await page.screenshot(path=str(path), animations="disabled", caret="hide")


async def services_refuse_the_technician(found: Pass, foreign_order: str) -> None:
    """What each page the technician may not open read from the services, asked again
    with the technician's own token: each read is refused, or answers only what is the
    technician's own (dispatch narrows a technician's lists to their orders, notify's
    inbox is the caller's), never `foreign_order`, an order of somebody else's that the
    supervisor's token is shown."""
    wang = auth(Role.TECHNICIAN, projects=["sunny"], subject="tech-wang")
    supervisor = auth(Role.SUPERVISOR, subject=dev_login(Role.SUPERVISOR))
    refused: set[ConsolePage] = set()
    shown_to_supervisor = False
    async with httpx.AsyncClient(trust_env=False) as client:
        for shown, reads in found.reads.items():
            if may_open(Role.TECHNICIAN, shown):
                continue
            assert reads, f"/{shown} read nothing from the services"
            for read in unique_gets(reads):
                answer = await client.get(str(read.url), headers=wang)
                if answer.status_code == 403:
                    refused.add(shown)
                elif answer.status_code != 200 or foreign_order in answer.text:
                    found.not_refused.append(
                        f"/{shown}: {read.url.path} answered the technician {answer.status_code}"
                        f" {answer.text[:200]}"
                    )
                as_supervisor = await client.get(str(read.url), headers=supervisor)
                shown_to_supervisor |= foreign_order in as_supervisor.text
    assert shown_to_supervisor, "no supervisor's page read the order in the queue"
    # The pages of the staff directory, notify's configuration, the KPIs and the follow-ups
    # owed are refused outright.
    outright = {ConsolePage.STAFF, ConsolePage.NOTIFICATIONS, ConsolePage.QUALITY}
    assert outright | {ConsolePage.FOLLOW_UPS} <= refused, refused


def unique_gets(requests: Iterable[httpx.Request]) -> list[httpx.Request]:
    """The distinct GETs among `requests`, in their order."""
    seen: dict[str, httpx.Request] = {}
    for request in requests:
        if request.method == "GET":
            seen.setdefault(str(request.url), request)
    return list(seen.values())
