"""A loopback OpenID Connect provider for the console's sign-in tests.

It serves discovery, its JWKS (an RS256 key), an authorization endpoint that approves the
configured person at once, and a token endpoint that checks the client secret, the
redirect URI and the PKCE verifier against the challenge, as a real provider does. Its
`misbehaviour` makes it answer as a broken or hostile provider would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from jwt.algorithms import RSAAlgorithm

from shared.auth import Role

KEY_ID = "loopback-1"
CLIENT_ID = "console"
CLIENT_SECRET = "console-client-secret-at-the-provider-0123"
AUDIENCE = "workorders"
"""The audience of access tokens: the services' (`JWT_AUDIENCE`)."""

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Person:
    """Someone with an account at the provider, and the claims their tokens carry."""

    subject: str
    name: str
    role: Role
    tenant: str
    projects: tuple[str, ...]


@dataclass
class Misbehaviour:
    """How the provider's next tokens differ from right ones."""

    id_token_nonce: str | None = None
    """The ID token's nonce instead of the request's."""
    id_token_audience: str | None = None
    """The ID token's audience instead of the client id."""
    id_token_signed_by_stranger: bool = False
    """The ID token signed by another key, under the provider's key id."""
    id_token_tampered: bool = False
    """The ID token's claims changed after it was signed (another subject)."""
    id_token_lifetime: timedelta | None = None
    """The ID token's lifetime (negative: already expired when issued)."""
    access_token_audience: str | None = None
    """The access token's audience instead of the services'."""


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str


@dataclass
class LoopbackProvider:
    """The provider; `issuer` is set once it is served."""

    person: Person
    issuer: str = ""
    token_lifetime: timedelta = timedelta(minutes=30)
    misbehaviour: Misbehaviour = field(default_factory=Misbehaviour)
    refusals: list[str] = field(default_factory=list)
    """What the token endpoint refused, in its error codes' words."""
    offers_sign_out: bool = True
    """Whether its discovery document names an end-session endpoint."""
    signed_out: list[str] = field(default_factory=list)
    """Who signed out at its end-session endpoint (the subjects of the ID token hints)."""
    issued: list[str] = field(default_factory=list)
    """Every token it signed and code it gave, to look for where they must not be."""
    _grants: dict[str, _Grant] = field(default_factory=dict)

    @property
    def jwks_url(self) -> str:
        """Where its public keys are."""
        return f"{self.issuer}/jwks"

    def access_token(self, person: Person, audience: str = AUDIENCE) -> str:
        """An access token of `person`, as the services verify them."""
        return self._sign(
            {
                "sub": person.subject,
                "role": str(person.role),
                "tenant": person.tenant,
                "projects": list(person.projects),
                "aud": audience,
            },
            self.token_lifetime,
        )

    def _id_token(self, grant: _Grant) -> str:
        wrong = self.misbehaviour
        claims = {
            "sub": self.person.subject,
            "name": self.person.name,
            "aud": wrong.id_token_audience or grant.client_id,
            "nonce": wrong.id_token_nonce or grant.nonce,
        }
        lifetime = wrong.id_token_lifetime or self.token_lifetime
        key = _STRANGER if wrong.id_token_signed_by_stranger else _KEY
        signed = self._sign(claims, lifetime, key)
        return _tampered(signed) if wrong.id_token_tampered else signed

    def _sign(
        self, claims: dict[str, Any], lifetime: timedelta, key: rsa.RSAPrivateKey = _KEY
    ) -> str:
        now = datetime.now(UTC)
        stamped = {
            **claims,
            "iss": self.issuer,
            "iat": int((now + min(lifetime, timedelta(0))).timestamp()) - 60,
            "exp": int((now + lifetime).timestamp()),
        }
        signed = jwt.encode(stamped, key, algorithm="RS256", headers={"kid": KEY_ID})
        self.issued.append(signed)
        return signed

    def app(self) -> FastAPI:
        """The provider's HTTP endpoints."""
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": self.jwks_url,
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                **(
                    {"end_session_endpoint": f"{self.issuer}/logout"}
                    if self.offers_sign_out
                    else {}
                ),
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            public = json.loads(RSAAlgorithm.to_jwk(_KEY.public_key()))
            return {"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        async def authorize(request: Request) -> Response:
            asked = request.query_params
            if (
                asked.get("response_type") != "code"
                or asked.get("client_id") != CLIENT_ID
                or asked.get("code_challenge_method") != "S256"
                or not asked.get("code_challenge")
                or "openid" not in asked.get("scope", "").split()
            ):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.issued.append(code)
            self._grants[code] = _Grant(
                CLIENT_ID, asked["redirect_uri"], asked["code_challenge"], asked.get("nonce", "")
            )
            back = urlencode({"code": code, "state": asked.get("state", "")})
            return RedirectResponse(f"{asked['redirect_uri']}?{back}", status_code=302)

        @app.get("/logout")
        async def logout(request: Request) -> Response:
            asked = request.query_params
            hint = asked.get("id_token_hint", "")
            if asked.get("client_id") != CLIENT_ID or hint not in self.issued:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            self.signed_out.append(jwt.decode(hint, options={"verify_signature": False})["sub"])
            return RedirectResponse(asked["post_logout_redirect_uri"], status_code=302)

        @app.post("/token")
        async def token(request: Request) -> Response:
            # Parsed by hand: Starlette's form parser needs python-multipart.
            form = dict(parse_qsl((await request.body()).decode()))
            if request.headers.get("authorization") != _basic(CLIENT_ID, CLIENT_SECRET):
                return self._refuse("invalid_client", "the client secret is wrong", 401)
            grant = self._grants.pop(str(form.get("code")), None)
            if grant is None or form.get("grant_type") != "authorization_code":
                return self._refuse("invalid_grant", "unknown or used code")
            if form.get("redirect_uri") != grant.redirect_uri:
                return self._refuse("invalid_grant", "the redirect URI differs")
            if _challenge(str(form.get("code_verifier", ""))) != grant.challenge:
                return self._refuse("invalid_grant", "PKCE verification failed")
            audience = self.misbehaviour.access_token_audience or AUDIENCE
            return JSONResponse(
                {
                    "access_token": self.access_token(self.person, audience),
                    "id_token": self._id_token(grant),
                    "token_type": "Bearer",
                    "expires_in": int(self.token_lifetime.total_seconds()),
                },
                headers={"Cache-Control": "no-store"},
            )

        return app

    def _refuse(self, error: str, description: str, status: int = 400) -> Response:
        self.refusals.append(description)
        return JSONResponse({"error": error, "error_description": description}, status)


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = json.dumps({**claims, "sub": "someone-else"}).encode()
    return ".".join([header, base64.urlsafe_b64encode(forged).rstrip(b"=").decode(), signature])


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
