"""The console refuses to start where its development sign-in must not run."""

from __future__ import annotations

import os
import subprocess
import sys

from services.console.settings import ConsoleSettings


def test_the_console_refuses_to_start_in_production_with_the_reason() -> None:
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


def test_only_development_may_start_it() -> None:
    assert ConsoleSettings(environment="development").start_problem() is None
    assert ConsoleSettings(
        environment="production", jwt_jwks_url="https://idp/jwks"
    ).start_problem()
