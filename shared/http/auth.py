"""FastAPI dependency that turns the bearer token into a `Principal`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import Principal, TokenVerifier
from shared.errors import Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="JWT from `wo token` or your identity provider")


async def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller; 401 problem details without a valid token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send 'Authorization: Bearer <token>'", code="missing_token")
    return await (await _verifier(request)).verify_async(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
