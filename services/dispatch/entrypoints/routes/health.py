"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text

from services.dispatch.entrypoints.deps import DispatchDep
from services.dispatch.entrypoints.routes.responses import json_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", response_class=Response, summary="Readiness")
async def readyz(dispatch: DispatchDep) -> Response:
    """Ready when the database answers; NATS being down only delays publishing (the outbox holds it)."""
    try:
        async with dispatch.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return json_response({"status": "unavailable", "database": str(exc)}, status_code=503)
    nats = "connected" if dispatch.nats_connected else "disconnected"
    return json_response({"status": "ready", "database": "ok", "nats": nats})
