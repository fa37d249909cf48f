"""Production is the default: the development secret works only where development is said."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from services.dispatch.settings import DispatchSettings
from services.notify.settings import NotifySettings
from shared.http.serve import load_settings
from shared.settings import (
    DEV_JWT_SECRET,
    DEV_PRIVACY_MASTER_KEY,
    MIN_SECRET_BYTES,
    ServiceSettings,
)

AUTH_VARIABLES = (
    "ENVIRONMENT",
    "JWT_SECRET",
    "JWT_JWKS_URL",
    "PRIVACY_MASTER_KEY",
    "PRIVACY_RETIRED_MASTER_KEYS",
    "NOTIFY_SECRETS_KEY",
)


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AUTH_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("bare_environment")
def test_an_unset_environment_is_production() -> None:
    assert ServiceSettings().environment == "production"


@pytest.mark.usefixtures("bare_environment")
def test_an_unset_environment_refuses_the_development_secret_at_start() -> None:
    with pytest.raises(SystemExit, match="dispatch: refusing to start: ENVIRONMENT=production"):
        load_settings("dispatch", DispatchSettings)
    with pytest.raises(ValueError, match=r"development JWT_SECRET.*or set JWT_JWKS_URL"):
        ServiceSettings(jwt_secret=DEV_JWT_SECRET).token_verifier()


@pytest.mark.usefixtures("bare_environment")
def test_an_unset_environment_refuses_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "s" * (MIN_SECRET_BYTES - 1))
    with pytest.raises(SystemExit, match=f"JWT_SECRET is 31 bytes.*at least {MIN_SECRET_BYTES}"):
        load_settings("dispatch", DispatchSettings)


@pytest.mark.usefixtures("bare_environment")
def test_production_accepts_a_long_secret_or_a_jwks_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "s" * MIN_SECRET_BYTES)
    monkeypatch.setenv("PRIVACY_MASTER_KEY", "p" * MIN_SECRET_BYTES)
    assert load_settings("dispatch", DispatchSettings).secret_problem() is None
    jwks = ServiceSettings(jwt_secret=None, jwt_jwks_url="https://idp.example/jwks")
    assert jwks.secret_problem() is None


@pytest.mark.usefixtures("bare_environment")
def test_production_dispatch_refuses_to_start_without_a_privacy_master_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JWT_SECRET", "s" * MIN_SECRET_BYTES)
    with pytest.raises(SystemExit, match="refuses the development PRIVACY_MASTER_KEY"):
        load_settings("dispatch", DispatchSettings)
    monkeypatch.setenv("PRIVACY_MASTER_KEY", DEV_PRIVACY_MASTER_KEY)
    with pytest.raises(SystemExit, match="refuses the development PRIVACY_MASTER_KEY"):
        load_settings("dispatch", DispatchSettings)
    short = "p" * (MIN_SECRET_BYTES - 1)
    monkeypatch.setenv("PRIVACY_MASTER_KEY", short)
    with pytest.raises(
        SystemExit, match=f"PRIVACY_MASTER_KEY is 31 bytes.*{MIN_SECRET_BYTES}"
    ) as refused:
        load_settings("dispatch", DispatchSettings)
    assert short not in str(refused.value)


@pytest.mark.usefixtures("bare_environment")
def test_every_secret_setting_follows_the_one_production_rule() -> None:
    """JWT_SECRET, PRIVACY_MASTER_KEY and NOTIFY_SECRETS_KEY are refused alike."""
    refusals = {
        "JWT_SECRET": ServiceSettings(environment="production").secret_problem(),
        "PRIVACY_MASTER_KEY": ServiceSettings(environment="production").privacy_problem(),
        "NOTIFY_SECRETS_KEY": _refusal(NotifySettings(environment="production").secrets_key),
    }
    for name, refusal in refusals.items():
        assert refusal is not None and refusal.startswith(
            f"ENVIRONMENT=production refuses the development {name}: set it to a random "
            f"secret of at least {MIN_SECRET_BYTES} bytes"
        )


def _refusal(read_secret: Callable[[], str]) -> str | None:
    try:
        read_secret()
    except ValueError as exc:
        return str(exc)
    return None


@pytest.mark.usefixtures("bare_environment")
def test_development_said_explicitly_accepts_the_development_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    settings = load_settings("dispatch", DispatchSettings)
    assert settings.environment == "development"
    assert settings.token_verifier() is not None


def test_a_service_started_without_environment_exits_with_the_reason() -> None:
    env = {k: v for k, v in os.environ.items() if k not in AUTH_VARIABLES}
    run = subprocess.run(
        [sys.executable, "-m", "services.dispatch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert "dispatch: refusing to start: ENVIRONMENT=production refuses the development" in (
        run.stderr
    )
