"""Liveness, readiness, the projector's position and its dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.reporting.adapters.dead_letters import TenantScope
from services.reporting.entrypoints.deps import ReportingDep
from services.reporting.entrypoints.schemas import ProjectorState, ReportingDeadLetters
from shared.auth import Principal, Role
from shared.errors import Forbidden
from shared.http.auth import PrincipalDep
from shared.http.health import LIVENESS_RESPONSES, READINESS_RESPONSES, readiness
from shared.http.responses import answers, json_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness", response_model=None, responses=LIVENESS_RESPONSES)
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", response_class=Response, summary="Readiness", responses=READINESS_RESPONSES)
async def readyz(reporting: ReportingDep) -> Response:
    """Ready when the database answers; NATS being down only delays new figures."""
    return await readiness(
        reporting.database.engine, reporting.nats_connected, reporting.settings.instance_id
    )


@router.get(
    "/v1/projector",
    summary="The projector's state for the caller's tenant",
    responses=answers(ProjectorState, "The read model's generation and the tenant's progress."),
)
async def projector(principal: PrincipalDep, reporting: ReportingDep) -> Response:
    """The read model's generation, how many of the tenant's work orders it holds (of the
    token's projects), the time of the latest event applied to one of them, and the
    tenant's dead letters.

    The stream position and event counts are every tenant's together: the platform
    operator reads them with `wo reporting projector`.
    """
    scope = _headquarters_scope(principal)
    work_orders, last_event_at = await reporting.store.tenant_progress(scope)
    return json_response(
        {
            "tenant": principal.tenant,
            "generation": await reporting.store.current_generation(),
            "work_orders": work_orders,
            "last_event_at": last_event_at.isoformat() if last_event_at else None,
            "dead_letters": await reporting.store.dead_letter_count(scope),
        }
    )


@router.get(
    "/v1/dead-letters",
    summary="Events of the caller's tenant the projector gave up on",
    responses=answers(ReportingDeadLetters, "The tenant's dead letters, newest first."),
)
async def dead_letters(
    principal: PrincipalDep,
    reporting: ReportingDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Newest first, with the error; never the raw body. A body that was no envelope
    names no tenant: only the platform operator sees it (`wo reporting dead-letters`)."""
    rows = await reporting.store.dead_letters(limit, _headquarters_scope(principal))
    return json_response(
        {"dead_letters": [{**r, "recorded_at": r["recorded_at"].isoformat()} for r in rows]}
    )


def _headquarters_scope(principal: Principal) -> TenantScope:
    # Dead letters hold raw events of every project of the tenant: headquarters reads them.
    if principal.role is not Role.HQ_QUALITY:
        raise Forbidden(
            "only headquarters (hq_quality) reads the projector's state", code="role_not_allowed"
        )
    projects = None if principal.all_projects else frozenset(principal.projects)
    return TenantScope(tenant=principal.tenant, projects=projects)
