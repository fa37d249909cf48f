"""The dashboard in a real headless Chromium (Debian's `chromium`), driven over DevTools.

The page loads from reporting itself (nothing from a CDN), shows the scripted week's
figures, switches to Chinese, and changes a figure on screen when a new event arrives,
without a reload.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets

from shared.auth import Role
from tests.integration.reporting.api_support import auth, caught_up, served_reporting
from tests.integration.reporting.conftest import Bus
from tests.integration.reporting.scripted_week import NOW, one_more_rating, week
from wo.processes import NatsServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="the dashboard test drives a real headless Chromium: apt-get install -y chromium",
)


class Page:
    """One Chromium tab over the DevTools protocol."""

    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        call_id = next(self._ids)
        await self._socket.send(
            json.dumps(
                {
                    "id": call_id,
                    "method": "Runtime.evaluate",
                    "params": {"expression": expression, "returnByValue": True},
                }
            )
        )
        while True:
            reply = json.loads(await self._socket.recv())
            if reply.get("id") == call_id:
                return reply["result"]["result"].get("value")

    async def wait_for(self, expression: str, expected: Any, seconds: float = 30.0) -> None:
        """Poll `expression` until it equals `expected` (bounded; never a timing assertion)."""
        value = None
        for _ in range(int(seconds / 0.1)):
            value = await self.evaluate(expression)
            if value == expected:
                return
            await asyncio.sleep(0.1)
        page = await self.evaluate(
            "document.getElementById('status')?.textContent + ' | ' + location.href"
        )
        raise AssertionError(f"{expression} stayed {value!r}, expected {expected!r}; page: {page}")


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Headless Chromium with a fresh profile and DevTools on a free port."""
    profile = tmp_path / "chromium-profile"
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield process, profile
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _open(profile: Path, url: str) -> Page:
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            break
        await asyncio.sleep(0.1)
    port = int(port_file.read_text().splitlines()[0])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
        target = (await http.put(f"/json/new?{quote(url, safe='')}")).json()
    socket = await websockets.connect(target["webSocketDebuggerUrl"], max_size=None)
    return Page(socket)


def _value(kpi: str) -> str:
    return f"document.querySelector('[data-testid=value-{kpi}]')?.textContent ?? null"


async def test_the_dashboard_shows_the_week_and_updates_live_in_both_languages(
    database_url: str,
    nats_server: NatsServer,
    bus: Bus,
    chromium: tuple[subprocess.Popen[bytes], Path],
) -> None:
    _, profile = chromium
    async with served_reporting(database_url, nats_server.url, NOW) as served:
        events, ids = week()
        await caught_up(served.reporting, await bus.publish(events))
        token = auth(Role.HQ_QUALITY)["Authorization"].removeprefix("Bearer ")
        page = await _open(
            profile,
            f"{served.url}/dashboard/?lang=en&from=2026-09-21&to=2026-09-28#token={token}",
        )
        # The group's figures of the scripted week.
        await page.wait_for(_value("satisfaction"), "75.00%")
        await page.wait_for(_value("repair_timeliness"), "50.00%")
        await page.wait_for(_value("complaint_rate"), "0.14%")
        await page.wait_for(_value("backlog"), "4")
        assert await page.evaluate("document.querySelectorAll('#at-risk tbody tr').length") == 1
        # The order at risk is named by its number, as people read it, not by its id.
        shown = await page.evaluate("document.querySelector('#at-risk tbody td').textContent")
        assert re.fullmatch(r"SG-[0-9]{8}-[0-9]{4}", shown), shown
        # The notifications panel: the week has no deliveries, so one empty "All channels" row.
        assert await page.evaluate(
            "[...document.querySelectorAll('#notifications tbody td')].map(td => td.textContent)"
        ) == ["All channels", "–", "0", "0", "0", "0", "0"]
        assert await page.evaluate(
            "document.querySelector('[data-kpi=repair_timeliness]').classList.contains('miss')"
        )
        loaded_at = await page.evaluate("window.dashboardLoadedAt")

        # A new rating on the bus: the figure changes on screen, the page is not reloaded.
        await bus.publish([one_more_rating(events, ids["S1"], 5)])
        await page.wait_for(_value("satisfaction"), "80.00%")
        assert await page.evaluate("window.dashboardLoadedAt") == loaded_at

        # 中文
        await page.evaluate("document.querySelector('[data-testid=lang]').click()")
        await page.wait_for(
            "document.querySelector('[data-kpi=satisfaction] h3').textContent", "业主综合满意率"
        )
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        # Nothing was fetched from anywhere but reporting.
        origins = await page.evaluate(
            "[...new Set(performance.getEntriesByType('resource').map(e => new URL(e.name).origin))]"
        )
        assert origins == [served.url]
        # Leave the page, closing its stream, so the server stops without waiting on it.
        await page.evaluate("location.href = 'about:blank'")
