"""Typed FastAPI dependencies of notify's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.notify.adapters.queries import Scope
from services.notify.entrypoints.bootstrap import Notify
from shared.auth import Principal, Role
from shared.errors import Forbidden
from shared.http.auth import PrincipalDep

OPERATORS = frozenset(
    {
        Role.CUSTOMER_SERVICE,
        Role.DISPATCHER,
        Role.SUPERVISOR,
        Role.PROJECT_MANAGER,
        Role.HQ_QUALITY,
        Role.INTEGRATOR,
    }
)
"""Roles that may read delivery records and dead letters of their projects."""


async def _notify(request: Request) -> Notify:
    notify: Notify = request.app.state.notify
    return notify


NotifyDep = Annotated[Notify, Depends(_notify)]


def scope_of(principal: Principal) -> Scope:
    """The tenant and projects a principal may see."""
    return Scope(
        tenant=principal.tenant,
        projects=None if principal.all_projects else frozenset(principal.projects),
    )


async def operator_scope(principal: PrincipalDep) -> Scope:
    """The caller's scope, if their role may read notify's records."""
    if principal.role not in OPERATORS:
        raise Forbidden(
            f"role {principal.role} may not read delivery records", code="role_not_allowed"
        )
    return scope_of(principal)


OperatorScopeDep = Annotated[Scope, Depends(operator_scope)]
