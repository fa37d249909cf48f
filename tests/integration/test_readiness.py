"""`/readyz` of every service, with its database unreachable: 503, and no driver text."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from services.dispatch.entrypoints.routes.health import router as dispatch_health
from services.notify.entrypoints.routes.health import router as notify_health
from services.reporting.entrypoints.routes.operations import router as reporting_operations
from shared.database import create_engine


@pytest.mark.parametrize(
    ("name", "router"),
    [("dispatch", dispatch_health), ("notify", notify_health), ("reporting", reporting_operations)],
)
async def test_readyz_answers_503_without_the_drivers_words(
    tmp_path: Path, name: str, router: APIRouter
) -> None:
    # A database file in a directory that does not exist cannot be opened.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    app = FastAPI()
    app.include_router(router)
    running = SimpleNamespace(
        engine=engine,
        database=SimpleNamespace(engine=engine),
        nats_connected=True,
        settings=SimpleNamespace(instance_id=None),
    )
    setattr(app.state, name, running)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            response = await client.get("/readyz")
    finally:
        await engine.dispose()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
    assert int(response.headers["Retry-After"]) > 0
