"""Liveness and readiness routes, the same for every service."""

from __future__ import annotations

from typing import Protocol

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.stream_check import BusState


class Checked(Protocol):
    """What readiness looks at: the service's database engine and its NATS connection."""

    @property
    def engine(self) -> AsyncEngine:
        """The service's database."""
        ...

    @property
    def nats_connected(self) -> bool:
        """Whether the bus is reachable right now."""
        ...


def _json(body: object, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


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
        try:
            async with service.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return _json({"status": "unavailable", "database": str(exc)}, status_code=503)
        nats = "connected" if service.nats_connected else "disconnected"
        body: dict[str, object] = {"status": "ready", "database": "ok", "nats": nats}
        instance = getattr(getattr(service, "settings", None), "instance_id", None)
        if instance:
            body["instance"] = instance
        # A publisher says whether EVENTS holds what it published (shared.stream_check).
        bus = getattr(service, "bus", None)
        if isinstance(bus, BusState):
            body["bus"] = bus.as_dict()
        return _json(body)

    readyz.__doc__ = readiness_note
    router.add_api_route(
        "/readyz", readyz, methods=["GET"], response_class=Response, summary="Readiness"
    )
    return router
