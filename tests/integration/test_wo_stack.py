"""`wo up`'s supervision: a foreign process on a service's port is never announced, and a
child that exits is restarted after a growing back-off."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from wo.layout import StackPaths
from wo.stack import ManagedService, Restarts, SignalWatch, Stack, StackFailed


class _ReadyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ready", "instance": "someone-else"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def foreign_port() -> Iterator[int]:
    """A port held by a process that answers every GET with a ready, foreign `/readyz`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ReadyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_foreign_process_on_the_port_is_not_announced(tmp_path: Path, foreign_port: int) -> None:
    output = io.StringIO()
    stack = Stack(StackPaths(tmp_path), {}, Console(file=output), SignalWatch())
    # Our child lost the race for the port (it never binds); the foreign one answers.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stack.services.append(
            ManagedService(
                "dispatch", foreign_port, tmp_path / "d.log", 0, "sqlite://", child, "ours"
            )
        )
        with pytest.raises(StackFailed, match="not the dispatch this stack started"):
            stack.wait_ready(10.0)
    finally:
        child.kill()
        child.wait()
    assert "is ready" not in output.getvalue()
    assert not stack.services[0].announced


def test_restarts_back_off_while_a_child_keeps_exiting_and_start_afresh_after_a_stable_run() -> (
    None
):
    restarts = Restarts()
    assert [restarts.exited(ran_seconds=0.5) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert restarts.exited(ran_seconds=45.0) == 1
    assert restarts.exited(ran_seconds=0.5) == 2
    assert restarts.due_at is not None
