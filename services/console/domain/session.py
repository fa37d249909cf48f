"""A console session: who signed in, with which token, in which language, and its CSRF secret.

The bearer token stays on the server: the browser holds only the session's opaque id
(an HttpOnly cookie), so no page script can read or leak it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.console.domain.languages import Language
from shared.auth import Role

ID_BYTES = 32
"""Random bytes of a session id and of a CSRF token (256 bits: not guessable)."""


def new_secret() -> str:
    """A fresh unguessable value (URL-safe text)."""
    return secrets.token_urlsafe(ID_BYTES)


@dataclass(frozen=True)
class SignedIn:
    """The person behind a session and the token the console calls the APIs with."""

    subject: str
    name: str
    role: Role
    tenant: str
    projects: frozenset[str]
    token: str
    expires_at: datetime | None = None
    """When the token expires (the identity provider's): the person signs in again then."""
    id_token: str | None = None
    """The identity provider's ID token, named to it when the person signs out there."""

    def token_expired(self, now: datetime) -> bool:
        """Whether the token has expired, so the services would refuse it."""
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True)
class Session:
    """One browser's session; `user` is None until someone signs in."""

    id: str
    csrf: str
    language: Language
    last_seen: datetime
    user: SignedIn | None = None
    flash: tuple[str, ...] = field(default=())
    """Messages shown once on the next page (what the last form did)."""

    def signed_in(self, user: SignedIn, now: datetime) -> Session:
        """The session after `user` signed in: new id and CSRF secret (no session fixation)."""
        return replace(self, id=new_secret(), csrf=new_secret(), user=user, last_seen=now)

    def expired(self, now: datetime, idle_seconds: float) -> bool:
        """Whether the session was unused longer than `idle_seconds`."""
        return (now - self.last_seen).total_seconds() > idle_seconds


def new_session(language: Language, now: datetime) -> Session:
    """A fresh anonymous session."""
    return Session(id=new_secret(), csrf=new_secret(), language=language, last_seen=now)


def csrf_valid(session: Session, submitted: str | None) -> bool:
    """Whether a form's CSRF token is its session's (constant-time comparison)."""
    if not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())
