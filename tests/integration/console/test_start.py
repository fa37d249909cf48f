"""The console refuses to start outside development unless OpenID Connect is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from services.console.settings import ConsoleSettings


def test_the_console_refuses_to_start_in_production_without_openid_connect() -> None:
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "JWT_SECRET": "a-production-secret-of-at-least-32-bytes",
        "HTTP_PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "services.console"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "console: refusing to start" in result.stderr
    assert "OpenID Connect is not configured" in result.stderr
    assert "OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_REDIRECT_URL" in result.stderr


PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "jwt_jwks_url": "https://idp.example/jwks",
    "oidc_issuer": "https://idp.example",
    "oidc_client_id": "console",
    "oidc_redirect_url": "https://console.example/sign-in/callback",
}


def test_development_starts_with_its_own_sign_in_and_production_with_openid_connect() -> None:
    assert ConsoleSettings(environment="development").start_problem() is None
    assert ConsoleSettings(**PRODUCTION).start_problem() is None
    assert ConsoleSettings(**PRODUCTION, oidc_client_secret="s").start_problem() is None


def test_production_names_each_missing_openid_connect_setting() -> None:
    problem = ConsoleSettings(**{**PRODUCTION, "oidc_client_id": None}).start_problem()

    assert problem is not None and "set OIDC_CLIENT_ID " in problem


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("oidc_issuer", "http://idp.example", "OIDC_ISSUER=http://idp.example must be an https"),
        ("oidc_redirect_url", "http://console.example/sign-in/callback", "must be an https"),
        (
            "oidc_redirect_url",
            "https://console.example/callback",
            "must end with /sign-in/callback",
        ),
        ("oidc_scopes", "profile email", "must include openid"),
    ],
)
def test_production_refuses_openid_connect_settings_that_cannot_be_right(
    setting: str, value: str, said: str
) -> None:
    problem = ConsoleSettings(**{**PRODUCTION, setting: value}).start_problem()

    assert problem is not None and said in problem


def test_a_provider_on_loopback_may_use_plain_http() -> None:
    loopback = {
        "oidc_issuer": "http://127.0.0.1:9000",
        "oidc_redirect_url": "http://localhost:8003/sign-in/callback",
    }

    assert ConsoleSettings(**{**PRODUCTION, **loopback}).start_problem() is None
