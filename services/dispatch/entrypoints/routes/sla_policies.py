"""`/v1/sla/policies`: a tenant's versioned SLA policies; `recalculate-sla` on a work order."""

from __future__ import annotations

from typing import Annotated, Any, Self

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.dispatch.adapters.sla_policies import SqlSlaPolicies
from services.dispatch.domain.calendar import BusinessCalendar
from services.dispatch.domain.commands import RecalculateSla
from services.dispatch.domain.sla_policy import (
    ClockRule,
    EscalationStep,
    SlaPolicy,
    default_calendars,
)
from services.dispatch.domain.sla_rules import Fraction
from services.dispatch.entrypoints.bootstrap import Dispatch
from services.dispatch.entrypoints.deps import DispatchDep, ScopeDep
from services.dispatch.entrypoints.routes.responses import json_response, outcome_response
from services.dispatch.service_layer.sla_commands import recalculate_sla
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound, Unavailable
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.inputs import Key, RowId
from shared.logging import bind_context

router = APIRouter(tags=["sla policies"])

POLICY_WRITERS = frozenset({Role.PROJECT_MANAGER, Role.HQ_QUALITY})
"""Who publishes policy versions: the roles that also keep the project registry."""

# Residents see their own orders' clocks through the work order, not the tenant's policy.
POLICY_READERS = frozenset(Role) - {Role.RESIDENT}

CALENDARS_NOTE = (
    "A tenant's own calendars live inside the policy's `calendars`, by name: each has its "
    "`kind`, `time_zone` (left out: the zone of the project a clock runs for), duty "
    "`windows` (e.g. 07:00-23:00, or two windows around lunch), `use_public_holidays` "
    "(mainland-China holidays and make-up working days, 调休), and the tenant's own `closures` (holidays, closed days) and "
    "`extra_working_days` (make-up days announced late). Publishing a new version is how "
    "a tenant adds next year's holidays."
)


class SlaPolicyDraft(BaseModel):
    """An SLA policy as published: every field of a policy but its version, which is assigned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendars: dict[str, BusinessCalendar] = Field(
        default_factory=default_calendars, description=CALENDARS_NOTE
    )
    clocks: tuple[ClockRule, ...] = Field(
        default=(), description="Clock rules; the most specific matching rule of a name wins."
    )
    warning_thresholds: tuple[Fraction, ...] = Field(
        default=(0.5, 0.8), description="Fractions of a target at which warnings are raised."
    )
    escalation: tuple[EscalationStep, ...] = Field(
        default=(), description="The escalation ladder: time- and event-driven steps."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # The policy's own cross-field rules (calendars named by clocks exist, thresholds
        # increase, ...) are checked here so a bad body is a 422 before anything is stored.
        try:
            self.to_policy()
        except ValidationError as exc:
            raise ValueError("; ".join(str(e["msg"]) for e in exc.errors())) from None
        return self

    def to_policy(self) -> SlaPolicy:
        """The policy at a placeholder version; publishing assigns the real one."""
        return SlaPolicy(
            calendars=self.calendars,
            clocks=self.clocks,
            warning_thresholds=self.warning_thresholds,
            escalation=self.escalation,
        )


def _catalogue(dispatch: Dispatch) -> SqlSlaPolicies:
    policies = dispatch.sla_policies
    if not isinstance(policies, SqlSlaPolicies):
        raise Unavailable(
            "this dispatch runs with fixed SLA policies; versions cannot be published here",
            code="sla_policies_fixed",
        )
    return policies


def _require(principal: Principal, roles: frozenset[Role], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(
            f"a {principal.role.value} may not {what}",
            code="role_not_allowed",
            role=principal.role.value,
        )


def _policy_body(policy: SlaPolicy) -> dict[str, Any]:
    return policy.model_dump(mode="json")


@router.post(
    "/v1/sla/policies",
    status_code=201,
    response_class=Response,
    responses={
        201: {"description": "The stored policy with its new version."},
        **PROBLEM_RESPONSES,
    },
    summary="Publish a new SLA policy version",
    description=(
        "Store the body as the tenant's next policy version (project manager or headquarters "
        "quality). New clocks run under the current version and their events carry "
        "`policy_version`; running clocks move only through "
        "`POST /v1/work-orders/{id}/recalculate-sla`. Version 1 is the DOMAIN.md default, so "
        "the first published version is 2. Other dispatch processes pick a new version up "
        "within 30 seconds.\n\n" + CALENDARS_NOTE
    ),
)
async def publish(
    draft: SlaPolicyDraft, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """Publish a policy version."""
    _require(principal, POLICY_WRITERS, "publish SLA policies")
    stored = await _catalogue(dispatch).publish(
        principal.tenant, draft.to_policy(), principal.subject
    )
    return json_response(
        _policy_body(stored),
        201,
        headers={"Location": f"/v1/sla/policies/{stored.version}"},
    )


@router.get(
    "/v1/sla/policies",
    response_class=Response,
    responses=PROBLEM_RESPONSES,
    summary="List SLA policy versions",
)
async def list_versions(principal: PrincipalDep, dispatch: DispatchDep) -> Response:
    """Every version of the tenant's policy with who published it and when, and the current one."""
    _require(principal, POLICY_READERS, "read SLA policies")
    catalogue = _catalogue(dispatch)
    current = (await catalogue.current(principal.tenant)).version
    versions = await catalogue.list(principal.tenant)
    return json_response(
        {"current": current, "items": [v.summary(current) for v in versions]},
    )


@router.get(
    "/v1/sla/policies/current",
    response_class=Response,
    responses=PROBLEM_RESPONSES,
    summary="Read the current SLA policy",
)
async def read_current(principal: PrincipalDep, dispatch: DispatchDep) -> Response:
    """The version new clocks start under."""
    _require(principal, POLICY_READERS, "read SLA policies")
    return json_response(_policy_body(await dispatch.sla_policies.current(principal.tenant)))


@router.get(
    "/v1/sla/policies/{version}",
    response_class=Response,
    responses=PROBLEM_RESPONSES,
    summary="Read one SLA policy version",
)
async def read_version(
    version: Annotated[RowId, Path(description="Policy version; 1 is the default")],
    principal: PrincipalDep,
    dispatch: DispatchDep,
) -> Response:
    """One version, as running clocks that name it were started under."""
    _require(principal, POLICY_READERS, "read SLA policies")
    found = await _catalogue(dispatch).get(principal.tenant, version)
    if found is None:
        raise NotFound(f"SLA policy version {version} not found", code="sla_policy_not_found")
    return json_response(_policy_body(found))


@router.post(
    "/v1/work-orders/{work_order_id}/recalculate-sla",
    response_class=Response,
    responses={
        200: {"description": "The work order, the policy version and the events appended."},
        **PROBLEM_RESPONSES,
    },
    summary="Move running SLA clocks to the current policy",
    tags=["work orders"],
)
async def recalculate(
    work_order_id: Key,
    scope: ScopeDep,
    command: Annotated[RecalculateSla | None, Body()] = None,
) -> Response:
    """Recalculate every running or paused clock on the current policy version.

    The business time already elapsed is kept (paused time stays uncounted); a time
    promised to the resident stays; each moved clock is a `workorder.sla_clock_recalculated`
    event with reason `policy_changed`. Supervisors and project managers only.
    """
    with bind_context(work_order_id=work_order_id, command=RecalculateSla.name):
        dispatch = scope.dispatch
        outcome = await recalculate_sla(
            dispatch.store,
            dispatch.sla_policies,
            work_order_id,
            command or RecalculateSla(),
            scope.context,
        )
    return outcome_response(outcome)
