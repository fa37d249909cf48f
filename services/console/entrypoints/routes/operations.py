"""Liveness and readiness: the console keeps no database and holds no connection of its own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", response_class=JSONResponse)
async def readyz(request: Request) -> JSONResponse:
    """Ready as soon as it serves: sessions are in memory and every page reads dispatch when
    it is shown, so a dispatch outage shows on the page rather than taking the console out."""
    body = {"status": "ready"}
    instance = request.app.state.console.settings.instance_id
    if instance:
        # Which process this is, for the supervisor that started it (`wo up`).
        body["instance"] = instance
    return JSONResponse(body)
