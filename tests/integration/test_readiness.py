"""`/readyz` of every service, with its database unreachable: 503, and no driver text."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.entrypoints.routes.health import router as dispatch_health
from services.notify.entrypoints.routes.health import router as notify_health
from services.reporting.entrypoints.routes.operations import router as reporting_operations
from shared.database import create_engine
from shared.http.health import Checked
from shared.runner import Runner
from shared.settings import ServiceSettings
from shared.stream_check import BusState

ROUTERS = [
    ("dispatch", dispatch_health),
    ("notify", notify_health),
    ("reporting", reporting_operations),
]


@dataclass
class Running:
    """A running service as `/readyz` sees it (`Checked`; reporting's `database` too)."""

    engine: AsyncEngine
    nats_connected: bool = True
    settings: ServiceSettings = field(default_factory=ServiceSettings)
    bus: BusState = field(default_factory=BusState)
    runner: Runner = field(default_factory=Runner)

    @property
    def database(self) -> SimpleNamespace:
        return SimpleNamespace(engine=self.engine)


async def _readyz(name: str, router: APIRouter, running: Checked) -> httpx.Response:
    app = FastAPI()
    app.include_router(router)
    setattr(app.state, name, running)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get("/readyz")


@asynccontextmanager
async def aiosqlite_threads_ended() -> AsyncIterator[None]:
    """Wait, at the end, for the aiosqlite worker threads started within.

    aiosqlite stops a connection that failed to open by queueing its thread's stop without
    waiting for it (omnilib/aiosqlite#389); the thread then answers the event loop that
    asked. When the test's loop closes first, the answer fails in the thread ("Event loop
    is closed"), which pytest reports against whichever test runs then: seen in the
    clean-clone runs of stops 24 and 25, and 1 in 12 runs of this test beside a CI run."""
    before = set(threading.enumerate())
    try:
        yield
    finally:
        for thread in set(threading.enumerate()) - before:
            if thread.name.endswith("(_connection_worker_thread)"):
                await asyncio.to_thread(thread.join, 10)


@pytest.mark.parametrize(("name", "router"), ROUTERS)
async def test_readyz_answers_503_without_the_drivers_words(
    tmp_path: Path, name: str, router: APIRouter
) -> None:
    # A database file in a directory that does not exist cannot be opened.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    async with aiosqlite_threads_ended():
        try:
            response = await _readyz(name, router, Running(engine))
        finally:
            await engine.dispose()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("name", "router"), ROUTERS)
async def test_readyz_names_the_process_and_the_publishers_stream(
    tmp_path: Path, name: str, router: APIRouter
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    running = Running(engine, settings=ServiceSettings(instance_id="run-7"))
    running.bus.stream = "complete"
    try:
        response = await _readyz(name, router, running)
    finally:
        await engine.dispose()

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["instance"], body["nats"]) == ("ready", "run-7", "connected")
    # reporting publishes nothing; dispatch and notify say whether EVENTS holds theirs.
    assert body.get("bus", {}).get("stream") == (None if name == "reporting" else "complete")
