"""The production sign-in: OpenID Connect's authorization code flow with PKCE.

The console sends the browser to the identity provider with a fresh state, nonce and PKCE
challenge; the provider sends it back with a code, which the console exchanges (with the
verifier) for an ID token and an access token. The ID token says who signed in, for this
console and this request; the access token is what the console calls the services with,
so it must pass the very checks the services make (`shared.auth.TokenVerifier`), and its
claims (role, tenant, projects) decide the console's pages as they decide the services'
answers. Nothing is kept if any check fails.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt

from services.console.domain.oidc import (
    PendingSignIn,
    authorization_url,
    display_name,
    end_session_url,
    id_token_problem,
    new_pending,
)
from services.console.domain.roles import STAFF_ROLES
from services.console.domain.session import SignedIn
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.errors import Unauthenticated

PENDING_SECONDS = 10 * 60
"""How long a sign-in may stay at the identity provider before its answer is refused."""


class SignInFailed(Exception):
    """The sign-in cannot complete: `reason` says why (no token, no secret in it)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's answer to a code."""

    access_token: str
    id_token: str


class IdentityProvider(Protocol):
    """The OpenID Connect provider as the sign-in needs it (each call may raise `SignInFailed`)."""

    async def authorization_endpoint(self) -> str:
        """Where browsers sign in (from the provider's discovery document)."""
        ...

    async def end_session_endpoint(self) -> str | None:
        """Where browsers sign out at the provider, if it has such an endpoint."""
        ...

    async def exchange_code(self, code: str, code_verifier: str, redirect_url: str) -> TokenAnswer:
        """The tokens the token endpoint gives for `code` and its PKCE verifier."""
        ...

    async def verify_id_token(self, id_token: str) -> dict[str, Any]:
        """The claims of `id_token`, after checking its signature (the provider's JWKS),
        issuer, audience (this console's client id) and expiry."""
        ...


class OidcSignIn:
    """Starts sign-ins at the identity provider and finishes them when the browser is back.

    The sign-ins under way are kept in memory, at most `capacity` (the oldest forgotten
    first), each for `PENDING_SECONDS`.
    """

    def __init__(
        self,
        provider: IdentityProvider,
        verifier: TokenVerifier,
        clock: Clock,
        *,
        client_id: str,
        redirect_url: str,
        scopes: str,
        capacity: int,
    ) -> None:
        self._provider = provider
        self._verifier = verifier
        self._clock = clock
        self._client_id = client_id
        self._redirect_url = redirect_url
        self._scopes = scopes
        self._capacity = capacity
        self._pending: OrderedDict[str, PendingSignIn] = OrderedDict()

    async def start(self, session_id: str, next_path: str) -> str:
        """The provider's URL the browser of `session_id` signs in at, coming back to
        `next_path` once signed in."""
        endpoint = await self._provider.authorization_endpoint()
        pending = new_pending(session_id, next_path, self._clock.now())
        self._pending[pending.state] = pending
        while len(self._pending) > self._capacity:
            self._pending.popitem(last=False)
        return authorization_url(
            endpoint,
            client_id=self._client_id,
            redirect_url=self._redirect_url,
            scopes=self._scopes,
            pending=pending,
        )

    async def finish(self, session_id: str, answer: Mapping[str, str]) -> tuple[SignedIn, str]:
        """The person the provider's `answer` (the callback's query) signs in on the browser
        of `session_id`, and the path to go on to; else `SignInFailed`."""
        pending = self._take(answer.get("state"), session_id)
        if answer.get("error"):
            described = answer.get("error_description")
            raise SignInFailed(
                f"the identity provider answered {answer['error']}"
                + (f" ({described})" if described else "")
            )
        code = answer.get("code")
        if not code:
            raise SignInFailed("the identity provider's answer has no code")
        tokens = await self._provider.exchange_code(code, pending.code_verifier, self._redirect_url)
        claims = await self._provider.verify_id_token(tokens.id_token)
        problem = id_token_problem(claims, pending.nonce, self._client_id)
        if problem is not None:
            raise SignInFailed(problem)
        return await self._signed_in(tokens, claims), pending.next_path

    async def sign_out_url(self, user: SignedIn) -> str | None:
        """Where the browser goes to sign out at the provider as well, so the next person
        at this computer is asked who they are (None: the provider has no such endpoint)."""
        endpoint = await self._provider.end_session_endpoint()
        if endpoint is None:
            return None
        return end_session_url(
            endpoint,
            client_id=self._client_id,
            redirect_url=self._redirect_url,
            id_token=user.id_token,
        )

    def _take(self, state: str | None, session_id: str) -> PendingSignIn:
        # Taken once: a replayed answer finds nothing.
        pending = self._pending.pop(state, None) if state else None
        started_in_time = pending is not None and (
            (self._clock.now() - pending.started).total_seconds() <= PENDING_SECONDS
        )
        if pending is None or pending.session_id != session_id or not started_in_time:
            raise SignInFailed(
                "the answer does not belong to a sign-in this browser started in the last "
                f"{PENDING_SECONDS // 60} minutes (state)"
            )
        return pending

    async def _signed_in(self, tokens: TokenAnswer, claims: Mapping[str, Any]) -> SignedIn:
        try:
            principal = await self._verifier.verify_async(tokens.access_token)
        except Unauthenticated as exc:
            raise SignInFailed(f"the services would refuse the access token: {exc}") from None
        if principal.subject != claims.get("sub"):
            raise SignInFailed("the access token and the ID token name different people")
        if principal.role not in STAFF_ROLES:
            raise SignInFailed(f"the role {principal.role} has no pages in the console")
        return SignedIn(
            subject=principal.subject,
            name=display_name(claims),
            role=principal.role,
            tenant=principal.tenant,
            projects=principal.projects,
            token=tokens.access_token,
            expires_at=_expiry(tokens.access_token),
            id_token=tokens.id_token,
        )


def _expiry(access_token: str) -> datetime:
    # Read only after the verifier accepted the token, signature and `exp` included.
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return datetime.fromtimestamp(int(claims["exp"]), UTC)
