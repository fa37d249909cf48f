"""A sender's lease outlasts any send it starts: refused at start when it could not."""

from __future__ import annotations

import pytest

from services.notify.settings import NotifySettings
from shared.http.serve import load_settings


def test_a_lease_no_longer_than_two_send_timeouts_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("SENDER_LEASE_SECONDS", "30")
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "10")
    monkeypatch.setenv("DISPATCH_TIMEOUT_SECONDS", "5")

    with pytest.raises(SystemExit, match=r"SENDER_LEASE_SECONDS \(30\) must be more than twice"):
        load_settings("notify", NotifySettings)


def test_the_default_lease_outlasts_two_send_timeouts() -> None:
    settings = NotifySettings(environment="development")
    assert settings.sender_lease_seconds > 2 * settings.send_timeout_seconds
