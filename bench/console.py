"""The dispatcher's page with many open orders: first paint, interactive, and memory.

Usage: python -m bench.console [--orders 2000] [--loads 5]

dispatch runs in this process, served over HTTP on a loopback port with SQLite; it gets
`--orders` open repair orders reported by customer service. The console runs as its own
process (`python -m services.console`, development sign-in) pointed at it. Debian's
Chromium (through Playwright, `executable_path`) signs in as the dispatcher and loads the
dispatch board `--loads` times; each load's first contentful paint and DOM-interactive
time come from the browser's own Performance API. The console process's resident memory
is read from /proc after the loads. Results go to stdout and bench/results/console.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

from bench.support import machine, percentile, write_results
from services.dispatch.entrypoints.app import create_app as create_dispatch_app
from services.dispatch.settings import DispatchSettings
from shared.auth import Role
from tests.integration.console.support import served, staff_the_projects
from tests.integration.dispatch.api_support import TENANT, auth, report_body
from wo.processes import free_port

CHROMIUM = "/usr/bin/chromium"

_TIMINGS = """async () => {
  // The paint entry is recorded just after the frame: wait for it, boundedly.
  for (let i = 0; i < 100 && !performance.getEntriesByName('first-contentful-paint')[0]; i++) {
    await new Promise((done) => setTimeout(done, 20));
  }
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return {first_paint_ms: paint ? paint.startTime : null,
          interactive_ms: nav.domInteractive, loaded_ms: nav.loadEventEnd,
          html_bytes: nav.decodedBodySize};
}"""


async def _report_open_orders(dispatch_url: str, orders: int) -> float:
    """Register the projects and report `orders` repairs (left open); the seconds it took."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=dispatch_url, trust_env=False, timeout=60) as client:
        for project in ("sunny", "river"):
            details = {"name": project.title(), "households": 100}
            await client.post(
                "/v1/projects",
                json={"project": project, "details": details},
                headers=auth(Role.HQ_QUALITY),
            )
        await staff_the_projects(client)
        service = auth(Role.CUSTOMER_SERVICE)
        limit = asyncio.Semaphore(16)

        async def one(n: int) -> None:
            async with limit:
                answer = await client.post(
                    "/v1/work-orders",
                    json=report_body(project="sunny", description=f"bench order {n}"),
                    headers={**service, "Idempotency-Key": f"bench-{n}"},
                )
                answer.raise_for_status()

        await asyncio.gather(*(one(n) for n in range(orders)))
    return time.perf_counter() - started


def _start_console(dispatch_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DEV_TENANT": TENANT,
        "DISPATCH_URL": dispatch_url,
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "services.console"], env=env)


async def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(300):  # bounded: 30 s
            if process.poll() is not None:
                raise SystemExit(f"the console exited with {process.returncode}")
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the console did not answer within 30 s")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise SystemExit("no VmRSS for the console process")


async def _measure(console_url: str, loads: int) -> list[dict[str, Any]]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = await browser.new_context()
            signing_in = await context.new_page()
            await signing_in.goto(f"{console_url}/sign-in")
            await signing_in.click("button[data-person='dev-dispatcher']")
            await signing_in.close()
            found = []
            for _ in range(loads):
                # A fresh tab each time: a first visit, with its own first paint.
                page = await context.new_page()
                await page.goto(f"{console_url}/dispatch", wait_until="load")
                found.append(await page.evaluate(_TIMINGS))
                await page.close()
            return found
        finally:
            await browser.close()


async def run(orders: int, loads: int) -> dict[str, Any]:
    """Seed, start the console, load the board; the figures."""
    with tempfile.TemporaryDirectory() as workdir:
        settings = DispatchSettings(
            environment="development",
            database_url=f"sqlite+aiosqlite:///{workdir}/dispatch.db",
            relay_enabled=False,
            sla_scheduler_enabled=False,
        )
        async with served(create_dispatch_app(settings)) as dispatch_url:
            seeding = await _report_open_orders(dispatch_url, orders)
            port = free_port()
            console = _start_console(dispatch_url, port)
            try:
                console_url = f"http://127.0.0.1:{port}"
                await _wait_ready(console_url, console)
                timings = await _measure(console_url, loads)
                rss = _rss_mib(console.pid)
            finally:
                console.terminate()
                console.wait(timeout=30)

    def p50(key: str) -> float:
        return round(percentile([float(t[key]) for t in timings if t[key] is not None], 0.5), 1)

    return {
        "open_orders": orders,
        "seeding_s": round(seeding, 1),
        "loads": loads,
        "first_paint_ms_p50": p50("first_paint_ms"),
        "interactive_ms_p50": p50("interactive_ms"),
        "loaded_ms_p50": p50("loaded_ms"),
        "html_kib": round(float(timings[-1]["html_bytes"]) / 1024, 1),
        "console_rss_mib": rss,
        "timings": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--loads", type=int, default=5)
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    orders = max(1, min(options.orders, 20_000))  # bounded
    loads = max(1, min(options.loads, 50))
    results = asyncio.run(run(orders, loads))
    write_results(
        {"machine": machine(), "load_average": os.getloadavg(), **results}, "console.json"
    )


if __name__ == "__main__":
    main()
