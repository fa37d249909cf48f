"""Liveness and readiness routes, the same for every service."""

from __future__ import annotations

from typing import Literal, Protocol

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database_errors import DOWN_RETRY_AFTER_SECONDS
from shared.http.responses import Responses, answers, json_response
from shared.runner import LoopState, Runner
from shared.settings import ServiceSettings
from shared.stream_check import BusState


class Liveness(BaseModel):
    """The body of `/healthz`."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"]


class BusHealth(BaseModel):
    """Whether the `EVENTS` stream holds what this publisher published."""

    model_config = ConfigDict(extra="forbid")

    stream: str = Field(description="`unchecked`, `complete`, `missing` or `republishing`.")
    losses: int = Field(description="Stream losses detected since the process started.")
    last_loss: str | None = Field(description="Why the latest loss was detected.")
    last_loss_at: str | None = Field(description="When it was detected (ISO 8601).")
    last_republished: int | None = Field(description="Events republished after it.")


class LoopHealth(BaseModel):
    """A background loop's health (`shared.runner`)."""

    model_config = ConfigDict(extra="forbid")

    state: LoopState = Field(description="`restarting`: waiting to start again.")
    restarts: int
    last_error: str | None
    last_failed_at: str | None = Field(description="When it last failed (ISO 8601).")


class Readiness(BaseModel):
    """The body of `/readyz`: ready (200) or not (503, with `Retry-After`)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ready", "degraded", "unavailable"] = Field(
        description="`degraded`: a background loop is waiting to restart (still 200)."
    )
    database: Literal["ok", "unavailable"]
    nats: Literal["connected", "disconnected"] | None = Field(
        default=None, description="Left out while the database is down."
    )
    instance: str | None = Field(
        default=None, description="The process's instance id, when the supervisor set one."
    )
    bus: BusHealth | None = Field(default=None, description="Publishers only (dispatch, notify).")
    loops: dict[str, LoopHealth] | None = Field(
        default=None, description="Each background loop's health, by name, in start order."
    )


READINESS_RESPONSES: Responses = {
    **answers(Readiness, "Ready: the database answers."),
    503: {
        "model": Readiness,
        "description": "Not ready: the database does not answer; retry after `Retry-After`.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
"""What `/readyz` answers, for every service's document."""

LIVENESS_RESPONSES: Responses = answers(Liveness, "The process is up.")


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

    @router.get("/healthz", summary="Liveness", response_model=None, responses=LIVENESS_RESPONSES)
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
        "/readyz",
        readyz,
        methods=["GET"],
        response_class=Response,
        summary="Readiness",
        responses=READINESS_RESPONSES,
    )
    return router
