"""SLA read side: `/v1/work-orders/{id}/sla` (a work order's clocks) and `/v1/sla/at-risk`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from services.dispatch.adapters.sla_timer_table import breach_timers
from services.dispatch.domain.sla import fold_sla
from services.dispatch.domain.workorder import Actor, at_risk_scope
from services.dispatch.entrypoints.deps import DispatchDep
from services.dispatch.entrypoints.routes.schemas import AtRisk, SlaView
from services.dispatch.service_layer.sla import policies_for
from services.dispatch.service_layer.sla_views import (
    at_risk_view,
    ensure_may_see_at_risk,
    sla_view,
)
from services.dispatch.service_layer.work_orders import load_work_order
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import Responses, answers, json_response
from shared.inputs import Key

router = APIRouter(tags=["sla"])

DUE_SOON = timedelta(hours=1)
"""The horizon of the per-project counts of `/v1/sla/at-risk`."""

SLA_EXAMPLE: dict[str, Any] = {
    "work_order_id": "0b9c3f4e-5a0c-4d43-9a53-1f0c2b1d7e21",
    "as_of": "2026-03-02T02:01:00+00:00",
    "clocks": [
        {
            "clock": "arrival",
            "cycle": 1,
            "status": "running",
            "on_time": None,
            "policy_version": 1,
            "calendar": "24x7",
            "started_at": "2026-03-02T02:00:00+00:00",
            "due_at": "2026-03-02T02:03:00+00:00",
            "target_seconds": 180.0,
            "elapsed_seconds": 60.0,
            "remaining_seconds": 120.0,
            "promised": False,
            "warnings": [],
            "breached_at": None,
            "paused": None,
            "missed_with_consent": False,
            "ended_at": None,
            "escalations": [],
            "pending_timers": [
                {
                    "key": "arrival:1:warning:0.5",
                    "kind": "warning",
                    "due_at": "2026-03-02T02:01:30+00:00",
                    "seconds_until_due": 30.0,
                    "threshold": 0.5,
                    "level": None,
                    "trigger": None,
                },
                {
                    "key": "arrival:1:breach",
                    "kind": "breach",
                    "due_at": "2026-03-02T02:03:00+00:00",
                    "seconds_until_due": 120.0,
                    "threshold": None,
                    "level": None,
                    "trigger": None,
                },
            ],
        }
    ],
    "event_escalations": {},
}

AT_RISK_EXAMPLE: dict[str, Any] = {
    "as_of": "2026-03-02T02:01:00+00:00",
    "items": [
        {
            "work_order_id": "0b9c3f4e-5a0c-4d43-9a53-1f0c2b1d7e21",
            "project": "sunny-garden",
            "clock": "arrival",
            "cycle": 1,
            "due_at": "2026-03-02T02:03:00+00:00",
            "seconds_until_due": 120.0,
        }
    ],
    "due_within_hour": {"sunny-garden": 1},
}


def _documented(model: type[BaseModel], description: str, example: dict[str, Any]) -> Responses:
    return {**answers(model, description, example=example), **PROBLEM_RESPONSES}


@router.get(
    "/v1/work-orders/{work_order_id}/sla",
    response_class=Response,
    responses=_documented(
        SlaView,
        "Each clock's latest cycle: status, due time, business time elapsed and remaining "
        "now, warnings, breach, pause, escalations and pending timers.",
        SLA_EXAMPLE,
    ),
    summary="Read a work order's SLA clocks",
)
async def read_sla(work_order_id: Key, principal: PrincipalDep, dispatch: DispatchDep) -> Response:
    """The SLA state of a work order (the fold of its events), measured now.

    Elapsed and remaining time are business seconds on each clock's calendar; `status` is
    running, paused, met, breached or cancelled (a clock met after its breach is `met` with
    `on_time` false). Visible to whoever may read the work order; 404 otherwise.
    """
    loaded = await load_work_order(dispatch.store, work_order_id, principal)
    sla = fold_sla(loaded.history)
    book = await policies_for(dispatch.sla_policies, loaded.tenant, loaded.project, sla)
    body = sla_view(loaded.id, sla, book, dispatch.clock.now())
    return json_response(body)


@router.get(
    "/v1/sla/at-risk",
    response_class=Response,
    responses=_documented(
        AtRisk,
        "The earliest pending breaches of the orders the caller may act on, soonest first, "
        "and per project the number of their running clocks due within the next hour. A "
        "technician sees only the orders assigned to them; the other staff roles see every "
        "order of the projects their token grants; residents get 403.",
        AT_RISK_EXAMPLE,
    ),
    summary="List the clocks that breach next",
)
async def at_risk(
    principal: PrincipalDep,
    dispatch: DispatchDep,
    project: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """What will breach next among the orders the caller may act on (residents get 403).

    A technician sees the clocks of the orders assigned to them; customer service,
    dispatchers, supervisors, project managers, headquarters quality and integrators see
    every order of the projects their token grants.

    Read from the timer table: a breach timer exists for every running clock not yet
    breached, so an overdue item (negative `seconds_until_due`) is a breach the scheduler
    has not recorded yet. A `project` the caller may not see gives an empty result, as the
    work-order list does, so the answer does not tell whether the project exists.
    """
    ensure_may_see_at_risk(principal)
    now = dispatch.clock.now()
    if project is not None and not principal.can_access(principal.tenant, project):
        return json_response(at_risk_view([], {}, now))
    visible = None if principal.all_projects else principal.projects
    scope = at_risk_scope(Actor(subject=principal.subject, role=principal.role))
    rows, due_soon = await breach_timers(
        dispatch.engine, principal.tenant, visible, project, limit, now + DUE_SOON, scope
    )
    return json_response(at_risk_view(rows, due_soon, now))
