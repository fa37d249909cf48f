"""Bearer tokens and the settings guard around them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.auth import Role, TokenVerifier, mint_token
from shared.errors import Unauthenticated
from shared.settings import DEV_JWT_SECRET, ServiceSettings

SECRET = "test-secret-of-at-least-thirty-two-bytes!"


def verifier() -> TokenVerifier:
    return TokenVerifier(secret=SECRET, jwks_url=None, issuer="iss", audience="aud")


def token(ttl: timedelta = timedelta(hours=1), secret: str = SECRET) -> str:
    return mint_token(
        secret=secret,
        subject="cs-li",
        role=Role.CUSTOMER_SERVICE,
        tenant="acme",
        projects=["sunny"],
        issuer="iss",
        audience="aud",
        now=datetime.now(UTC),
        ttl=ttl,
    )


def test_a_valid_token_gives_its_principal() -> None:
    principal = verifier().verify(token())

    assert principal.subject == "cs-li"
    assert principal.role is Role.CUSTOMER_SERVICE
    assert principal.can_access("acme", "sunny")
    assert not principal.can_access("acme", "river")
    assert not principal.can_access("other", "sunny")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        verifier().verify(token(secret="another-secret-of-at-least-thirty-two-b"))


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        verifier().verify(token(ttl=timedelta(seconds=-5)))


def test_a_cached_token_is_verified_again_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    check = verifier()
    minted = token(ttl=timedelta(minutes=1))
    check.verify(minted)
    later = datetime.now(UTC).timestamp() + 120
    monkeypatch.setattr(time, "time", lambda: later)  # the clock shared.auth reads

    def refuse(_: str) -> None:
        raise Unauthenticated("expired", code="invalid_token")

    monkeypatch.setattr(check, "_decode", refuse)

    with pytest.raises(Unauthenticated):
        check.verify(minted)


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValueError, match="ENVIRONMENT=production"):
        ServiceSettings(environment="production", jwt_secret=DEV_JWT_SECRET).token_verifier()


def test_production_accepts_its_own_secret_or_a_jwks_url() -> None:
    assert ServiceSettings(environment="production", jwt_secret="s" * 40).token_verifier()
    jwks = ServiceSettings(
        environment="production", jwt_secret=None, jwt_jwks_url="https://idp.example/jwks"
    )
    assert jwks.token_verifier()
