"""Authentication: JWT bearer tokens carrying subject, role, tenant and allowed projects.

Locally tokens are HS256 with a configured secret (`wo token` mints them); with an
identity provider they are RS256 and verified against its JWKS URL.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import Unauthenticated
from shared.subjects import Slug

ALL_PROJECTS = "*"
_VERIFIED_TOKENS_KEPT = 4096

PERSONAL_DATA_SCOPE = "personal_data"
"""The grant that lets an integrator read residents' personal data in clear through
dispatch's API (each read logged): the token's `scope` claim holds it."""


class Role(StrEnum):
    """The roles of a property group's staff, its residents, its integrators and its
    privacy officer (个人信息保护负责人)."""

    RESIDENT = "resident"
    CUSTOMER_SERVICE = "customer_service"
    DISPATCHER = "dispatcher"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    PROJECT_MANAGER = "project_manager"
    HQ_QUALITY = "hq_quality"
    INTEGRATOR = "integrator"
    PRIVACY_OFFICER = "privacy_officer"
    """Reads the access log of residents' personal data; erases, corrects and exports a
    resident's data on their request; sees no resident's data in clear elsewhere."""
    NOTIFIER = "notifier"
    """notify's service identity: reads a resident's contact from dispatch at send time,
    and nothing else (`SERVICE_ROLES`)."""


SERVICE_ROLES: frozenset[Role] = frozenset({Role.NOTIFIER})
"""Roles of services, not people: refused on every route except those that name them
(`shared.http.auth.ServicePrincipalDep`), so a leaked service token opens one door only."""


class Principal(BaseModel):
    """Who is calling: from a verified token's claims."""

    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role
    tenant: Slug
    projects: frozenset[str]
    scopes: frozenset[str] = frozenset()
    """What the token was granted beyond its role (the `scope` claim, OAuth style:
    space-separated), e.g. `personal_data`."""

    @property
    def all_projects(self) -> bool:
        """True for a token granted every project of its tenant (headquarters)."""
        return ALL_PROJECTS in self.projects

    def can_access(self, tenant: str, project: str) -> bool:
        """Whether this principal may see anything of `project` in `tenant`."""
        return tenant == self.tenant and (self.all_projects or project in self.projects)


class TokenVerifier:
    """Verifies bearer tokens: HS256 with a shared secret, or RS256 against a JWKS URL."""

    def __init__(
        self,
        *,
        secret: str | None,
        jwks_url: str | None,
        issuer: str,
        audience: str,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("configure JWT_SECRET or JWT_JWKS_URL")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._issuer = issuer
        self._audience = audience
        # Clients send the same token on every request; checking its signature again
        # each time was a third of a report's CPU. Entries live until the token expires.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify_async(self, token: str) -> Principal:
        """`verify` for the event loop: fetching a JWKS is blocking I/O, so it runs in a thread."""
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        if self._jwks is not None:
            return await asyncio.to_thread(self.verify, token)
        return self.verify(token)

    def verify(self, token: str) -> Principal:
        """Return the principal of a valid token, else raise `Unauthenticated`."""
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        principal, expires = self._decode(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > _VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256"]
            else:
                key = self._secret
                algorithms = ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid bearer token: {exc}", code="invalid_token") from None
        try:
            projects = claims.get("projects", [])
            if not isinstance(projects, list):
                raise ValueError("projects must be a list")
            principal = Principal(
                subject=claims["sub"],
                role=claims["role"],
                tenant=claims["tenant"],
                projects=frozenset(str(p) for p in projects),
                scopes=scopes_of(claims.get("scope")),
            )
            return principal, float(claims["exp"])
        except (KeyError, ValueError, ValidationError) as exc:
            raise Unauthenticated(
                f"token claims are incomplete: {exc}", code="invalid_claims"
            ) from None


def scopes_of(claim: object) -> frozenset[str]:
    """The scopes a token's `scope` claim grants: a space-separated string (OAuth 2.0,
    RFC 9068), none when absent; anything else is an invalid claim (`ValueError`)."""
    if claim is None:
        return frozenset()
    if not isinstance(claim, str):
        raise ValueError("scope must be a space-separated string")
    return frozenset(claim.split())


def mint_token(
    *,
    secret: str,
    subject: str,
    role: Role,
    tenant: str,
    projects: list[str],
    issuer: str,
    audience: str,
    now: datetime,
    ttl: timedelta = timedelta(days=30),
    scopes: frozenset[str] = frozenset(),
) -> str:
    """Mint an HS256 token for local development and tests (`scopes` as its `scope`)."""
    claims: dict[str, Any] = {
        "sub": subject,
        "role": str(role),
        "tenant": tenant,
        "projects": projects,
        "iss": issuer,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if scopes:
        claims["scope"] = " ".join(sorted(scopes))
    return jwt.encode(claims, secret, algorithm="HS256")
