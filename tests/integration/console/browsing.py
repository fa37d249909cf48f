"""What the console's browser tests share: Debian's Chromium, and a watch on what goes wrong.

The tests drive Debian's own `/usr/bin/chromium` through Playwright's Python package
(`executable_path`); no browser is ever downloaded. Without it they skip with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    Page,
    Request,
    Response,
    ViewportSize,
    async_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the console's browser tests drive Debian's Chromium: apt-get install -y chromium",
)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(page: Page, url: str, person: str) -> None:
    """Sign in as `person` from the development sign-in page."""
    await page.goto(f"{url}/sign-in")
    await page.click(f"button[data-person='{person}']")


@dataclass
class Watch:
    """What went wrong in the pages: console errors, page errors and failed requests."""

    problems: list[str] = field(default_factory=list)

    def page(self, page: Page, who: str) -> Page:
        """Watch `page`, naming its problems after `who`."""
        page.on("console", lambda m: self._said(who, m.type, m.text))
        page.on("pageerror", lambda e: self.problems.append(f"{who} page error: {e}"))
        page.on("requestfailed", lambda r: self._failed(who, r))
        page.on("response", lambda r: self._answered(who, r))
        return page

    def _said(self, who: str, kind: str, text: str) -> None:
        if kind == "error":
            self.problems.append(f"{who} console {kind}: {text}")

    def _answered(self, who: str, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"{who} {response.status} {response.url}")

    def _failed(self, who: str, request: Request) -> None:
        # A live re-read or the icon still on its way when its page is left is cancelled
        # by the browser; that is leaving, not failing.
        left = "/live" in request.url or request.url.endswith("/favicon.svg")
        if request.failure == "net::ERR_ABORTED" and left:
            return
        self.problems.append(f"{who} failed {request.url}: {request.failure}")
