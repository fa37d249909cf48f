"""A background loop that dies is started again, shown on `/readyz`, and its work goes on.

dispatch runs for real (its bootstrap, relay, NATS); its relay fails once, as a loop would
on a bug or a lost resource. Before the runner it stayed dead: the API took commands and
nothing was published again.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from nats.js.errors import NotFoundError

from services.dispatch.adapters.relay import OutboxRelay
from services.dispatch.entrypoints import bootstrap as dispatch_bootstrap
from services.dispatch.entrypoints.routes.health import router as health_router
from services.dispatch.settings import DispatchSettings
from shared.http.health import Readiness
from shared.nats import connect
from shared.subjects import EVENTS_STREAM
from tests.integration.dispatch.test_relay import append, stored_event_ids
from tests.integration.notify.support import eventually
from wo.processes import NatsServer


async def test_a_relay_that_fails_is_restarted_and_publishes_what_was_committed(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_run = OutboxRelay.run
    calls = 0

    async def fails_once(relay: OutboxRelay) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the relay hit a bug")
        await original_run(relay)

    monkeypatch.setattr(OutboxRelay, "run", fails_once)
    dispatch = await dispatch_bootstrap.start(
        DispatchSettings(
            environment="development",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}",
            nats_url=nats_server.url,
            sla_scheduler_enabled=False,
            relay_poll_seconds=0.1,
        )
    )
    nc = await connect(nats_server.url, "observer")
    try:
        await append(dispatch.store, 0, 0, count=3)
        js = nc.jetstream()

        async def published() -> int:
            try:
                return (await js.stream_info(EVENTS_STREAM)).state.messages
            except NotFoundError:
                return 0

        async def all_published() -> bool:
            return await published() == 3

        await eventually(all_published, what="the three events on the stream")
        assert len(await stored_event_ids(dispatch.engine)) == 3
        app = FastAPI()
        app.include_router(health_router)
        app.state.dispatch = dispatch
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dispatch") as client:
            ready = (await client.get("/readyz")).json()
        assert ready["status"] == "ready"
        # The answer is the one the OpenAPI document describes.
        assert Readiness.model_validate(ready).loops is not None
        assert ready["loops"]["outbox-relay"]["restarts"] == 1
        assert ready["loops"]["outbox-relay"]["last_error"] == "RuntimeError"
        assert ready["loops"]["outbox-relay"]["state"] == "running"
    finally:
        await nc.close()
        await dispatch_bootstrap.stop(dispatch)
