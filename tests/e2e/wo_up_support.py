"""`wo up` started as a user starts it, for the end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

STACK_TIMEOUT = 150.0
"""Seconds `wo up` may take to write stack.json (a loaded CI machine is slow)."""
STOP_TIMEOUT = 20.0


@dataclass
class WoUp:
    """A running `wo up` child and what it wrote."""

    process: subprocess.Popen[bytes]
    var_dir: Path
    output: Path
    stack: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def stack_file(self) -> Path:
        return self.var_dir / "stack.json"

    def console(self) -> str:
        """What `wo up` printed, for failure messages."""
        return self.output.read_text(encoding="utf-8", errors="replace")[-4000:]

    def wait_for_stack(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"wo up exited with {self.process.returncode} before the stack was up:\n"
                    f"{self.console()}"
                )
            if self.stack_file.exists():
                self.stack = json.loads(self.stack_file.read_text(encoding="utf-8"))
                return self.stack
            time.sleep(0.2)
        pytest.fail(f"no stack.json within {timeout:g} s:\n{self.console()}")

    def pids(self) -> dict[str, int]:
        """Every child pid recorded in stack.json."""
        pids = {name: s["pid"] for name, s in self.stack.get("services", {}).items()}
        if self.stack.get("nats", {}).get("pid"):
            pids["nats-server"] = self.stack["nats"]["pid"]
        return pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def user_environment() -> dict[str, str]:
    """This environment without the variables that would point `wo up` elsewhere."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in {"NATS_URL", "DATABASE_URL"} and not k.endswith("_DATABASE_URL")
    }


@contextlib.contextmanager
def ports_held(ports: list[int]) -> Iterator[None]:
    """Keep the loopback `ports` busy (those that are free), so the stack must move."""
    with contextlib.ExitStack() as held:
        for port in ports:
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
            except OSError:
                pass  # already taken by something else: the stack moves all the same
        yield


@contextlib.contextmanager
def running_wo_up(workdir: Path, env: Mapping[str, str] | None = None) -> Iterator[WoUp]:
    """`wo up --var-dir <workdir>/var` run from `workdir`, with the embedded NATS and SQLite;
    stopped (and every child it recorded killed) on leaving."""
    output = workdir / "wo-up.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wo", "up", "--var-dir", str(workdir / "var")],
            cwd=workdir,
            env=dict(user_environment() if env is None else env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = WoUp(process, workdir / "var", output)
    try:
        yield running
    finally:
        # Whatever happened in the test, leave no process behind.
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in running.pids().values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
