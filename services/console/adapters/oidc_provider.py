"""The OpenID Connect provider over HTTP: its discovery document, its JWKS and its token
endpoint; ID tokens are verified with PyJWT, as the services verify access tokens.

Errors carry the provider's error code and description, never a code, token or secret.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, ValidationError

from services.console.domain.oidc import secure_url
from services.console.service_layer.oidc import SignInFailed, TokenAnswer

DISCOVERY_PATH = "/.well-known/openid-configuration"
ID_TOKEN_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"})
"""The ID token signatures accepted: public-key ones only (never `none`, never a shared
secret the provider would have to hold for this console)."""
LEEWAY_SECONDS = 60
"""Clock difference tolerated between the provider and the console on `exp` and `iat`."""


class ProviderMetadata(BaseModel):
    """What the console reads of the discovery document (OpenID Connect Discovery 1.0)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    id_token_signing_alg_values_supported: list[str] = ["RS256"]
    token_endpoint_auth_methods_supported: list[str] = ["client_secret_basic"]
    code_challenge_methods_supported: list[str] | None = None
    end_session_endpoint: str | None = None


class OidcProvider:
    """The identity provider of `issuer`, for the client `client_id` (confidential when it
    has a `client_secret`). Its discovery document and keys are read once and kept; the keys
    are read again when a token names one they lack (the provider rotated them)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None,
    ) -> None:
        self._client = client
        self._issuer = issuer
        self._client_id = client_id
        self._client_secret = client_secret
        self._metadata: ProviderMetadata | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def authorization_endpoint(self) -> str:
        """Where browsers sign in."""
        return (await self.metadata()).authorization_endpoint

    async def end_session_endpoint(self) -> str | None:
        """Where browsers sign out at the provider, if it says."""
        return (await self.metadata()).end_session_endpoint

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, checked: the issuer it names is the one configured, its
        endpoints are https and it can do PKCE's S256."""
        if self._metadata is None:
            url = self._issuer.rstrip("/") + DISCOVERY_PATH
            try:
                metadata = ProviderMetadata.model_validate(await self._get_json(url))
            except ValidationError as exc:
                raise SignInFailed(
                    f"the identity provider's discovery document is incomplete: {exc}", 502
                ) from None
            self._metadata = _checked(metadata, self._issuer)
        return self._metadata

    async def exchange_code(self, code: str, code_verifier: str, redirect_url: str) -> TokenAnswer:
        """The tokens for `code`, proven ours by its PKCE verifier (and the client secret)."""
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_url,
            "code_verifier": code_verifier,
        }
        auth: httpx.BasicAuth | None = None
        secret = self._client_secret
        methods = metadata.token_endpoint_auth_methods_supported
        if secret is None:
            form["client_id"] = self._client_id
        elif "client_secret_basic" in methods or "client_secret_post" not in methods:
            # RFC 6749 section 2.3.1: both are form-encoded before the Basic scheme.
            auth = httpx.BasicAuth(quote_plus(self._client_id), quote_plus(secret))
        else:
            form |= {"client_id": self._client_id, "client_secret": secret}
        response = await self._send("POST", metadata.token_endpoint, data=form, auth=auth)
        body = _json(response)
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            described = body.get("error_description") if isinstance(body, dict) else None
            raise SignInFailed(
                f"the identity provider refused the code: {error or response.status_code}"
                + (f" ({described})" if described else ""),
                400 if response.status_code < 500 else 502,
            )
        return _token_answer(body)

    async def verify_id_token(self, id_token: str) -> dict[str, Any]:
        """The claims of `id_token` once its signature (by the provider's keys), issuer,
        audience (this client) and expiry are right."""
        metadata = await self.metadata()
        allowed = sorted(ID_TOKEN_ALGORITHMS & set(metadata.id_token_signing_alg_values_supported))
        try:
            key = await self._signing_key(jwt.get_unverified_header(id_token).get("kid"))
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=allowed,
                audience=self._client_id,
                issuer=metadata.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"the ID token is not valid: {exc}") from None
        return claims

    async def _signing_key(self, kid: object) -> jwt.PyJWK:
        if self._keys is not None:
            found = _key_named(self._keys, kid)
            if found is not None:
                return found
        # Not read yet, or the provider rotated its keys since.
        url = (await self.metadata()).jwks_uri
        try:
            self._keys = jwt.PyJWKSet.from_dict(await self._get_json(url))
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"the identity provider's keys are unusable: {exc}", 502) from None
        found = _key_named(self._keys, kid)
        if found is None:
            raise SignInFailed(f"the identity provider has no key {kid!r} for the ID token")
        return found

    async def _get_json(self, url: str) -> Any:
        response = await self._send("GET", url)
        if response.status_code >= 400:
            raise SignInFailed(
                f"the identity provider answered {response.status_code} at {url}", 502
            )
        return _json(response)

    async def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            return await self._client.request(
                method, url, headers={"Accept": "application/json"}, **kw
            )
        except httpx.HTTPError as exc:
            raise SignInFailed(
                f"the identity provider did not answer: {type(exc).__name__}", 503
            ) from None


def _checked(metadata: ProviderMetadata, issuer: str) -> ProviderMetadata:
    # OpenID Connect Discovery section 4.3: the document is the configured issuer's own.
    if metadata.issuer.rstrip("/") != issuer.rstrip("/"):
        raise SignInFailed(
            f"the discovery document names the issuer {metadata.issuer}, not {issuer}", 502
        )
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        url = getattr(metadata, name)
        if url is not None and not secure_url(url):
            raise SignInFailed(f"the identity provider's {name} is not an https URL", 502)
    methods = metadata.code_challenge_methods_supported
    if methods is not None and "S256" not in methods:
        raise SignInFailed("the identity provider does not offer PKCE with S256", 502)
    if not ID_TOKEN_ALGORITHMS & set(metadata.id_token_signing_alg_values_supported):
        raise SignInFailed(
            "the identity provider signs ID tokens with no public-key algorithm", 502
        )
    return metadata


def _key_named(keys: jwt.PyJWKSet, kid: object) -> jwt.PyJWK | None:
    # A token without a key id is only taken from a provider with a single key.
    if kid is None:
        return keys.keys[0] if len(keys.keys) == 1 else None
    return next((key for key in keys.keys if key.key_id == kid), None)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise SignInFailed("the identity provider answered without JSON", 502) from None


def _token_answer(body: Any) -> TokenAnswer:
    if not isinstance(body, dict):
        raise SignInFailed("the token endpoint answered without a JSON object", 502)
    access_token, id_token = body.get("access_token"), body.get("id_token")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise SignInFailed("the token endpoint gave no bearer token", 502)
    if not isinstance(access_token, str) or not isinstance(id_token, str):
        raise SignInFailed("the token endpoint gave no access token and ID token", 502)
    return TokenAnswer(access_token=access_token, id_token=id_token)
