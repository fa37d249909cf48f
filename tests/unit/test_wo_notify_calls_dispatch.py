"""`wo up` tells notify where dispatch is: an SMS to a resident gets their phone from it."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from services.notify.settings import NotifySettings
from wo.layout import StackPaths, service_environment
from wo.stack import SignalWatch, Stack


def test_notify_is_given_dispatchs_url_and_reads_it_as_its_setting(tmp_path: Path) -> None:
    stack = Stack(StackPaths(tmp_path), {}, Console(file=io.StringIO()), SignalWatch())
    stack.plan_ports(["dispatch", "notify", "reporting", "console"])
    peers = stack.peer_urls()

    env = service_environment("notify", 8001, "nats://127.0.0.1:4222", "sqlite://", {}, "id", peers)

    assert env["DISPATCH_URL"] == peers["dispatch"]
    settings = NotifySettings(dispatch_url=env["DISPATCH_URL"])
    assert settings.dispatch_url == peers["dispatch"]
