"""Liveness and readiness routes, the same for every service."""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database_errors import DOWN_RETRY_AFTER_SECONDS
from shared.http.responses import json_response
from shared.runner import Runner
from shared.settings import ServiceSettings
from shared.stream_check import BusState


class Checked(Protocol):
    """What readiness looks at: the service's database engine, its NATS connection, which
    process it is, the state of the stream it publishes to and its background loops."""

    @property
    def engine(self) -> AsyncEngine:
        """The service's database."""
        ...

    @property
    def nats_connected(self) -> bool:
        """Whether the bus is reachable right now."""
        ...

    @property
    def settings(self) -> ServiceSettings:
        """The service's settings (`instance_id` names this process)."""
        ...

    @property
    def bus(self) -> BusState:
        """Whether the stream holds what this service published."""
        ...

    @property
    def runner(self) -> Runner:
        """The service's background loops."""
        ...


async def readiness(
    engine: AsyncEngine,
    nats_connected: bool,
    instance: str | None = None,
    bus: BusState | None = None,
    runner: Runner | None = None,
) -> Response:
    """The `/readyz` answer: 200 when the database answers, else 503 with `Retry-After`.

    A background loop waiting to restart makes the status `degraded`, still 200: the API
    keeps its promises meanwhile (commands are kept in the outbox, events stay on the
    stream), so taking the instance out of rotation would only refuse work; alert on
    `background_loop_up` instead.

    The answer never carries the driver's error: the probe is unauthenticated, and the
    engine has logged the outage's cause once (`shared.database_errors.Outage`).
    """
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        retry = {"Retry-After": str(DOWN_RETRY_AFTER_SECONDS)}
        down = {"status": "unavailable", "database": "unavailable"}
        return json_response(down, status_code=503, headers=retry)
    nats = "connected" if nats_connected else "disconnected"
    body: dict[str, object] = {"status": "ready", "database": "ok", "nats": nats}
    if instance:
        # Which process this is, for the supervisor that started it (`wo up`).
        body["instance"] = instance
    if bus is not None:
        # A publisher says whether EVENTS holds what it published (shared.stream_check).
        body["bus"] = bus.as_dict()
    if runner is not None:
        body["loops"] = runner.health()
        if not runner.healthy:
            body["status"] = "degraded"
    return json_response(body)


def health_router(state_name: str, readiness_note: str) -> APIRouter:
    """`/healthz` and `/readyz` for the running service kept in `app.state.<state_name>`.

    Ready means the database answers; NATS being down is reported but does not make a
    service unready (each says why in `readiness_note`, shown in the API docs).
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        """The process is up and serving HTTP."""
        return {"status": "ok"}

    async def readyz(request: Request) -> Response:
        service: Checked = getattr(request.app.state, state_name)
        return await readiness(
            service.engine,
            service.nats_connected,
            service.settings.instance_id,
            service.bus,
            service.runner,
        )

    readyz.__doc__ = readiness_note
    router.add_api_route(
        "/readyz", readyz, methods=["GET"], response_class=Response, summary="Readiness"
    )
    return router
