"""Liveness, readiness, the projector's position and its dead letters."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from services.reporting.entrypoints.deps import ReportingDep
from shared.auth import Role
from shared.errors import Forbidden
from shared.http.auth import PrincipalDep
from shared.http.health import readiness

router = APIRouter(tags=["operations"])


def _json(body: object, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", response_class=Response, summary="Readiness")
async def readyz(reporting: ReportingDep) -> Response:
    """Ready when the database answers; NATS being down only delays new figures."""
    return await readiness(
        reporting.database.engine, reporting.nats_connected, reporting.settings.instance_id
    )


@router.get("/v1/projector", summary="How far the projector has read EVENTS")
async def projector(principal: PrincipalDep, reporting: ReportingDep) -> Response:
    """The read model's generation, the projector's checkpoint and the dead-letter count."""
    _operators_only(principal.role)
    checkpoint = await reporting.store.checkpoint(reporting.settings.consumer_durable)
    return _json(
        {
            "generation": await reporting.store.current_generation(),
            "stream_sequence": checkpoint.stream_sequence if checkpoint else 0,
            "events_applied": checkpoint.events_applied if checkpoint else 0,
            "updated_at": checkpoint.updated_at.isoformat() if checkpoint else None,
            "dead_letters": await reporting.store.dead_letter_count(),
        }
    )


@router.get("/v1/dead-letters", summary="Events the projector gave up on")
async def dead_letters(
    principal: PrincipalDep,
    reporting: ReportingDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Newest first, with the error; the raw body stays in the table for operators."""
    _operators_only(principal.role)
    rows = await reporting.store.dead_letters(limit)
    return _json(
        {"dead_letters": [{**r, "recorded_at": r["recorded_at"].isoformat()} for r in rows]}
    )


def _operators_only(role: Role) -> None:
    # Dead letters hold raw events of every project: headquarters reads them.
    if role is not Role.HQ_QUALITY:
        raise Forbidden(
            "only headquarters (hq_quality) reads the projector's state", code="role_not_allowed"
        )
