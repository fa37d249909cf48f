"""`/v1/sla/policies`: a tenant's versioned SLA policies; `recalculate-sla` on a work order."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Self

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.dispatch.adapters.clocked_orders import clocked_orders
from services.dispatch.adapters.sla_policies import PolicyVersion, SqlSlaPolicies, scope_json
from services.dispatch.domain.commands import RecalculateSla
from services.dispatch.domain.sla import (
    DEFAULT_RECEIVED_AT_MAX_AGE,
    BusinessCalendar,
    ClockRule,
    EscalationStep,
    Fraction,
    PolicyScope,
    SlaPolicy,
    default_calendars,
    publishing_scope,
    visible_to,
)
from services.dispatch.entrypoints.bootstrap import Dispatch
from services.dispatch.entrypoints.deps import DispatchDep, ScopeDep
from services.dispatch.entrypoints.routes.disclosure import UNLOGGED, command_answer
from services.dispatch.entrypoints.routes.schemas import (
    PolicyPreview,
    PolicyVersions,
    RecalculatedWorkOrder,
    StoredSlaPolicy,
)
from services.dispatch.service_layer.roles import require_role
from services.dispatch.service_layer.sla_commands import recalculate_sla
from services.dispatch.service_layer.sla_preview import preview_policy
from shared.auth import Principal, Role
from shared.errors import NotFound, Unavailable
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import ETAG, IDEMPOTENT_REPLAYED, LOCATION, answers, json_response
from shared.inputs import Key, RowId
from shared.logging import bind_context
from shared.subjects import Slug

router = APIRouter(tags=["sla policies"])

POLICY_WRITERS = frozenset({Role.PROJECT_MANAGER, Role.HQ_QUALITY})
"""Who publishes policy versions: the roles that also keep the project registry. The
version governs the author's projects; tenant-wide only from a token granting every one."""

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


SCOPE_NOTE = (
    "The projects this version governs, each one your token grants (else 404 "
    "`unknown_project`). Left out: every project your token grants, which is the whole "
    "tenant (`projects: null`) only for a token granting every project (headquarters); a "
    "project manager of one project publishes for that project alone. A project's new "
    "clocks follow the newest version that covers it, tenant-wide or its own."
)

ProjectQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z0-9_-]{1,64}$",
        description="A project: the version governing its new clocks (left out: tenant-wide).",
    ),
]


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
    received_at_max_age: timedelta = Field(
        default=DEFAULT_RECEIVED_AT_MAX_AGE,
        gt=timedelta(0),
        description="How far in the past a report's `received_at` may lie (ISO 8601 duration).",
    )
    projects: frozenset[Slug] | None = Field(
        default=None,
        min_length=1,
        description=SCOPE_NOTE,
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
            received_at_max_age=self.received_at_max_age,
        )


def _catalogue(dispatch: Dispatch) -> SqlSlaPolicies:
    policies = dispatch.sla_policies
    if not isinstance(policies, SqlSlaPolicies):
        raise Unavailable(
            "this dispatch runs with fixed SLA policies; versions cannot be published here",
            code="sla_policies_fixed",
        )
    return policies


def _policy_body(policy: SlaPolicy, scope: PolicyScope) -> dict[str, Any]:
    return {**policy.model_dump(mode="json"), "projects": scope_json(scope)}


def _visible(principal: Principal, version: PolicyVersion) -> bool:
    return visible_to(version.projects, principal.projects, principal.all_projects)


def _project_of(principal: Principal, project: str | None) -> str | None:
    if project is not None and not principal.can_access(principal.tenant, project):
        raise NotFound(f"project {project!r} not found", code="unknown_project")
    return project


@router.post(
    "/v1/sla/policies",
    status_code=201,
    response_class=Response,
    responses={
        **answers(
            StoredSlaPolicy,
            "The stored policy with its new version; `Location` names it.",
            201,
            headers={"Location": LOCATION},
        ),
        **PROBLEM_RESPONSES,
    },
    summary="Publish a new SLA policy version",
    description=(
        "Store the body as the tenant's next policy version (project manager or headquarters "
        "quality), governing the author's projects (see `projects`; only a token granting "
        "every project publishes tenant-wide). New clocks run under the version current for "
        "their project and their events carry "
        "`policy_version`; running clocks move only through "
        "`POST /v1/work-orders/{id}/recalculate-sla`. Version 1 is the default policy (docs/sla.md), so "
        "the first published version is 2. Other dispatch processes pick a new version up "
        "within 30 seconds.\n\n" + CALENDARS_NOTE
    ),
)
async def publish(
    draft: SlaPolicyDraft, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """Publish a policy version."""
    require_role(principal, POLICY_WRITERS, "publish SLA policies")
    scope = publishing_scope(principal.projects, principal.all_projects, draft.projects)
    stored = await _catalogue(dispatch).publish(
        principal.tenant, draft.to_policy(), principal.subject, scope
    )
    return json_response(
        _policy_body(stored, scope),
        201,
        headers={"Location": f"/v1/sla/policies/{stored.version}"},
    )


PREVIEW_LIMIT = 500
"""The most orders one preview measures (each is folded from its events)."""


@router.post(
    "/v1/sla/policies/preview",
    response_class=Response,
    responses={
        **answers(
            PolicyPreview,
            "Each running or paused clock of the orders the draft would govern: its due "
            "time now and under the draft.",
        ),
        **PROBLEM_RESPONSES,
    },
    summary="Preview how a draft SLA policy moves running clocks",
    description=(
        "Read-only: nothing is published, recalculated or recorded. The body is a draft as "
        "`POST /v1/sla/policies` takes it, and is checked the same way (422 for a bad one); "
        "the caller must be allowed to publish it (project manager or headquarters quality, "
        "for their projects). For every open order of the projects the draft would govern "
        "(and every order whose clocks still run after completion, such as the follow-up "
        "visit), oldest report first and at most 500, the answer gives each running or "
        "paused clock's due time now and the due time `recalculate-sla` would give it once "
        "the draft is published: elapsed business time kept, promised times kept, a clock "
        "the draft no longer has cancelled (`draft_due_at` null)."
    ),
)
async def preview(
    draft: SlaPolicyDraft, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """What publishing `draft` and recalculating would do to the running clocks."""
    require_role(principal, POLICY_WRITERS, "preview SLA policies")
    scope = publishing_scope(principal.projects, principal.all_projects, draft.projects)
    catalogue = _catalogue(dispatch)
    version = await catalogue.next_version(principal.tenant)
    orders, truncated = await clocked_orders(
        dispatch.engine, principal.tenant, scope, PREVIEW_LIMIT
    )
    now = dispatch.clock.now()
    policy = draft.to_policy().model_copy(update={"version": version})
    items = await preview_policy(dispatch.store, catalogue, principal, orders, policy, now)
    return json_response(
        {
            "as_of": now,
            "policy_version": version,
            "projects": scope_json(scope),
            "orders_examined": len(orders),
            "truncated": truncated,
            "items": items,
        }
    )


@router.get(
    "/v1/sla/policies",
    response_class=Response,
    responses={
        **answers(PolicyVersions, "The versions the caller sees, oldest first, and the current."),
        **PROBLEM_RESPONSES,
    },
    summary="List SLA policy versions",
)
async def list_versions(
    principal: PrincipalDep, dispatch: DispatchDep, project: ProjectQuery = None
) -> Response:
    """The versions the caller sees (tenant-wide ones and those of the caller's projects),
    with who published them, when and for which projects, and the current one (for
    `project`, else tenant-wide)."""
    require_role(principal, POLICY_READERS, "read SLA policies")
    catalogue = _catalogue(dispatch)
    scoped = _project_of(principal, project)
    current = (await catalogue.current(principal.tenant, scoped)).version
    versions = [v for v in await catalogue.list(principal.tenant) if _visible(principal, v)]
    return json_response(
        {"current": current, "items": [v.summary(current) for v in versions]},
    )


@router.get(
    "/v1/sla/policies/current",
    response_class=Response,
    responses={
        **answers(StoredSlaPolicy, "The current policy and the projects it governs."),
        **PROBLEM_RESPONSES,
    },
    summary="Read the current SLA policy",
)
async def read_current(
    principal: PrincipalDep, dispatch: DispatchDep, project: ProjectQuery = None
) -> Response:
    """The version new clocks of `project` start under (left out: the tenant-wide one)."""
    require_role(principal, POLICY_READERS, "read SLA policies")
    scoped = _project_of(principal, project)
    policy = await dispatch.sla_policies.current(principal.tenant, scoped)
    return json_response(_policy_body(policy, await _scope_of(dispatch, principal, policy)))


async def _scope_of(dispatch: Dispatch, principal: Principal, policy: SlaPolicy) -> PolicyScope:
    if not isinstance(dispatch.sla_policies, SqlSlaPolicies):
        return None
    versions = await dispatch.sla_policies.list(principal.tenant)
    return next((v.projects for v in versions if v.version == policy.version), None)


@router.get(
    "/v1/sla/policies/{version}",
    response_class=Response,
    responses={
        **answers(StoredSlaPolicy, "The policy version and the projects it governs."),
        **PROBLEM_RESPONSES,
    },
    summary="Read one SLA policy version",
)
async def read_version(
    version: Annotated[RowId, Path(description="Policy version; 1 is the default")],
    principal: PrincipalDep,
    dispatch: DispatchDep,
) -> Response:
    """One version, as running clocks that name it were started under."""
    require_role(principal, POLICY_READERS, "read SLA policies")
    catalogue = _catalogue(dispatch)
    listed = [v for v in await catalogue.list(principal.tenant) if v.version == version]
    found = await catalogue.get(principal.tenant, version)
    # Another project's version answers as one that does not exist.
    if found is None or not listed or not _visible(principal, listed[0]):
        raise NotFound(f"SLA policy version {version} not found", code="sla_policy_not_found")
    return json_response(_policy_body(found, listed[0].projects))


@router.post(
    "/v1/work-orders/{work_order_id}/recalculate-sla",
    response_class=Response,
    responses={
        **answers(
            RecalculatedWorkOrder,
            "The work order, the policy version and the events appended; `ETag` is its "
            "new version.",
            headers={"ETag": ETAG, "Idempotent-Replayed": IDEMPOTENT_REPLAYED},
        ),
        **PROBLEM_RESPONSES,
        **UNLOGGED,
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
    return await command_answer(scope, outcome)
