"""`wo up` and the console: started last with the others' URLs, its URL printed first."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from wo.layout import StackPaths, discover_services, project_root, service_environment
from wo.stack import SignalWatch, Stack
from wo.up import print_summary


def test_the_console_starts_after_the_services_it_calls() -> None:
    names = discover_services(project_root())
    assert names[:4] == ["dispatch", "notify", "reporting", "console"]


def test_a_service_is_given_the_urls_of_the_services_started_before_it() -> None:
    peers = {
        "dispatch": "http://127.0.0.1:8000",
        "reporting": "http://127.0.0.1:8002",
        "console": "http://127.0.0.1:8003",
    }
    env = service_environment(
        "console", 8003, "nats://127.0.0.1:4222", "sqlite://", {}, "id", peers
    )
    assert env["DISPATCH_URL"] == "http://127.0.0.1:8000"
    # The quality page reads reporting's KPIs by it (ConsoleSettings.reporting_url).
    assert env["REPORTING_URL"] == "http://127.0.0.1:8002"
    assert "CONSOLE_URL" not in env


def test_the_summary_shows_the_consoles_url_before_any_other(tmp_path: Path) -> None:
    output = io.StringIO()
    console = Console(file=output, width=200)
    stack = Stack(StackPaths(tmp_path), {}, console, SignalWatch())
    services = {
        name: {"url": f"http://127.0.0.1:{port}", "pid": 1, "log": str(tmp_path / f"{name}.log")}
        for name, port in (("dispatch", 8000), ("reporting", 8002), ("console", 8003))
    }
    description = {
        "nats": {"embedded": True, "url": "nats://127.0.0.1:4222", "pid": 2, "log": None},
        "services": services,
        "projects": ["sunny-garden"],
    }
    print_summary(console, stack, description)
    urls = re.findall(r"(?:http|nats)://[\w.:]+", output.getvalue())
    assert urls[0] == "http://127.0.0.1:8003"
    assert "Open the console: http://127.0.0.1:8003" in output.getvalue()


def test_reporting_is_told_the_consoles_url_though_the_console_starts_after_it(
    tmp_path: Path,
) -> None:
    stack = Stack(StackPaths(tmp_path), {}, Console(file=io.StringIO()), SignalWatch())
    stack.plan_ports(["dispatch", "notify", "reporting", "console"])
    peers = stack.peer_urls()
    assert set(peers) == {"dispatch", "notify", "reporting", "console"}
    assert len(set(peers.values())) == 4
    env = service_environment(
        "reporting", 8002, "nats://127.0.0.1:4222", "sqlite://", {}, "id", peers
    )
    # Where reporting's old `/dashboard/` sends people: the console's quality page.
    assert env["CONSOLE_URL"] == peers["console"]
    assert "REPORTING_URL" not in env
