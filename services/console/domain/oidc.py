"""OpenID Connect's authorization code flow as data: PKCE, state and nonce, the request sent
to the identity provider, and the checks an ID token's claims must pass.

PKCE (RFC 7636) binds the code to this console: only who holds the verifier can exchange
it. The state binds the provider's answer to the browser session that asked; the nonce
binds the ID token to that one request (OpenID Connect Core 1.0, section 3.1.2.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from services.console.domain.session import new_secret

CALLBACK_PATH = "/sign-in/callback"
"""Where the identity provider sends the browser back to (the end of the redirect URL)."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def secure_url(url: str) -> bool:
    """Whether `url` may carry a sign-in: https, or http to this machine (RFC 8252's
    loopback exception, for a provider tried on a laptop)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in sent to the identity provider and not back yet, for one browser session."""

    state: str
    nonce: str
    code_verifier: str
    session_id: str
    next_path: str
    started: datetime


def new_pending(session_id: str, next_path: str, now: datetime) -> PendingSignIn:
    """A sign-in with fresh unguessable state, nonce and PKCE verifier (256 bits each; the
    verifier's 43 characters are the least RFC 7636 allows)."""
    return PendingSignIn(new_secret(), new_secret(), new_secret(), session_id, next_path, now)


def code_challenge(code_verifier: str) -> str:
    """The S256 challenge of `code_verifier`: BASE64URL(SHA256(verifier)), unpadded."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    endpoint: str, *, client_id: str, redirect_url: str, scopes: str, pending: PendingSignIn
) -> str:
    """Where the browser goes to sign in: the provider's authorization endpoint asked for a
    code (with the PKCE challenge, never the verifier)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_url,
            "scope": scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": code_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    # The endpoint may carry a query of its own (some providers name a tenant in it).
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def end_session_url(
    endpoint: str, *, client_id: str, redirect_url: str, id_token: str | None
) -> str:
    """Where the browser signs out at the provider too (OpenID Connect RP-Initiated Logout
    1.0), coming back to the console's sign-in page."""
    back = redirect_url.removesuffix(CALLBACK_PATH) + "/sign-in"
    asked = {"client_id": client_id, "post_logout_redirect_uri": back}
    if id_token:
        asked["id_token_hint"] = id_token
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(asked)}"


def same_secret(expected: str, given: object) -> bool:
    """Whether `given` is the text `expected` (constant-time comparison)."""
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def id_token_problem(claims: Mapping[str, Any], nonce: str, client_id: str) -> str | None:
    """What is wrong with a verified ID token's claims for this sign-in, else None.

    Its signature, issuer, audience and expiry are checked where it is decoded; here the
    nonce (it was minted for this request, not replayed from another) and, when it names
    several audiences, the authorized party (OpenID Connect Core 1.0, section 3.1.3.7).
    """
    if not same_secret(nonce, claims.get("nonce")):
        return "the ID token's nonce is not this sign-in's"
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        return "the ID token names several audiences but not this console as its party"
    return None


def display_name(claims: Mapping[str, Any]) -> str:
    """The name the console shows: the ID token's `name`, else its `preferred_username`
    (empty without either: pages then show the subject)."""
    for claim in ("name", "preferred_username"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
