"""The `/metrics` endpoint in Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.http.responses import answers_as

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Metrics",
    response_class=Response,
    responses=answers_as(
        "Every metric of this process in the Prometheus text exposition format.",
        {"text/plain": {"schema": {"type": "string"}}},
    ),
)
async def metrics() -> Response:
    """Every metric registered in this process (scrape it; no token needed)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
