"""FastAPI dependency that turns the bearer token into a `Principal`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import SERVICE_ROLES, Principal, TokenVerifier
from shared.errors import Forbidden, Unauthenticated

MAX_TOKEN_BYTES = 8 * 1024
"""Longest bearer token read; a longer one is refused before any decoding."""

_bearer = HTTPBearer(auto_error=False, description="JWT from `wo token` or your identity provider")


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The `Authorization: Bearer` header as sent (the API's security scheme in OpenAPI)."""


async def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


async def current_principal(request: Request, credentials: BearerCredentials) -> Principal:
    """The authenticated caller, a person or an integrator; 401 problem details without a
    valid token, 403 `role_not_allowed` for a service's own identity (`SERVICE_ROLES`):
    it may call only the routes that take `ServicePrincipalDep`.

    A plain function as well as a dependency: a dependency that needs the caller among
    other things takes `BearerCredentials` and calls it, one level of dependency solving
    fewer for every request (a large share of a command's CPU time)."""
    principal = await any_principal(request, credentials)
    if principal.role in SERVICE_ROLES:
        raise Forbidden(
            f"a {principal.role.value} token opens only the routes made for that service",
            code="role_not_allowed",
            role=principal.role.value,
        )
    return principal


async def any_principal(request: Request, credentials: BearerCredentials) -> Principal:
    """The authenticated caller, services' identities included; 401 without a valid token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send 'Authorization: Bearer <token>'", code="missing_token")
    if len(credentials.credentials) > MAX_TOKEN_BYTES:
        raise Unauthenticated(
            f"the bearer token is over {MAX_TOKEN_BYTES} bytes", code="token_too_large"
        )
    return await (await _verifier(request)).verify_async(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
"""A person or an integrator: every route's caller but the few a service calls."""

ServicePrincipalDep = Annotated[Principal, Depends(any_principal)]
"""Any caller, a service's identity included: for the routes made for a service, which
check the role themselves."""
