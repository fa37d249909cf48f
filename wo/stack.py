"""The processes of the local stack: an embedded nats-server and the services.

Every child runs in its own session, so a terminal's Ctrl-C reaches only `wo up`,
which then stops the services first and NATS last. Stop signals become a flag that
the waiting loops poll, so stopping is orderly whatever `wo up` was doing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import httpx
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from wo.demo import DEMO_TENANT
from wo.layout import (
    LOOPBACK,
    NATS_PORT,
    SERVICE_PORTS,
    StackPaths,
    service_database_url,
    service_environment,
)
from wo.processes import NatsServer, free_port

STOP_GRACE_SECONDS = 10.0
LOG_TAIL_LINES = 40


class StackFailed(Exception):
    """The stack could not start or a part of it died; `log` holds the evidence."""

    def __init__(self, message: str, log: Path | None = None, log_offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.log = log
        self.log_offset = log_offset


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived: stop the stack and exit successfully."""


def tail_log(path: Path, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines written to `path` after byte `offset` (this run's output only)."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            data = file.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


def masked_url(url: str) -> str:
    """A database URL with its password hidden (stack.json and the console are not secret stores)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # an unparsable URL is the service's problem to report, not ours
        return url


class SignalWatch:
    """Turns SIGINT/SIGTERM into a flag the stack's loops poll, so stopping is always orderly."""

    def __init__(self) -> None:
        self.received = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalWatch:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1

    def check(self) -> None:
        """Raise `StopRequested` if a stop signal arrived."""
        if self.received:
            raise StopRequested

    def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, raising `StopRequested` as soon as a stop signal arrives."""
        deadline = time.monotonic() + seconds
        while True:
            self.check()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))


def _die_with_parent() -> None:
    # Runs in the child before exec: if `wo up` itself is killed (SIGKILL), the kernel
    # sends the service SIGTERM instead of leaving it holding its port.
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class ManagedService:
    """A service child process of the stack."""

    name: str
    port: int
    log: Path
    log_offset: int
    database_url: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """Base URL of the service's HTTP API."""
        return f"http://{LOOPBACK}:{self.port}"


@dataclass
class Stack:
    """The processes of one `wo up`: an optional embedded nats-server and the services."""

    paths: StackPaths
    env: Mapping[str, str]
    console: Console
    signals: SignalWatch
    nats: NatsServer | None = None
    nats_url: str = ""
    nats_log_offset: int = 0
    services: list[ManagedService] = field(default_factory=list)
    _ports: set[int] = field(default_factory=set)

    def _port(self, preferred: int | None) -> int:
        # free_port only checks that a port is bindable now, so remember what this stack
        # handed out: two children must never be told the same port.
        port = free_port(preferred if preferred not in self._ports else None, LOOPBACK)
        while port in self._ports:
            port = free_port(None, LOOPBACK)
        self._ports.add(port)
        return port

    def start_nats(self) -> None:
        """Use `NATS_URL` if the user set it, else start the embedded nats-server."""
        external = self.env.get("NATS_URL", "").strip()
        if external:
            self.nats_url = external
            self.console.print(f"Using NATS at [bold]{external}[/] (NATS_URL is set)")
            return
        log = self.paths.log("nats")
        self.nats_log_offset = log.stat().st_size if log.exists() else 0
        self.nats = NatsServer(self.paths.nats_store, port=self._port(NATS_PORT), host=LOOPBACK)
        self.console.print(f"Starting nats-server on {self.nats.url} …")
        try:
            self.nats.start(log_file=log)
        except FileNotFoundError as exc:
            self.nats = None
            raise StackFailed(str(exc)) from None
        except RuntimeError as exc:
            self.nats = None
            raise StackFailed(str(exc), log, self.nats_log_offset) from None
        self.nats_url = self.nats.url

    def start_service(self, name: str, root: Path) -> ManagedService:
        """Start `python -m services.<name>` with the stack's environment, logging to a file."""
        port = self._port(SERVICE_PORTS.get(name))
        log = self.paths.log(name)
        database_url = service_database_url(name, self.paths, self.env)
        env = service_environment(name, port, self.nats_url, database_url, self.env)
        with log.open("ab") as out:
            offset = out.tell()
            out.write(f"---- wo up: starting {name} on port {port} ----\n".encode())
            out.flush()
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a terminal's Ctrl-C reaches only `wo up`, which then stops
                # the services before NATS instead of everything dying at once.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        service = ManagedService(name, port, log, offset, database_url, process)
        self.services.append(service)
        self.console.print(f"Starting {name} on {service.url} …")
        return service

    def wait_ready(self, timeout: float) -> None:
        """Wait until every service answers 200 on `/readyz`; fail if one dies or is late."""
        pending = list(self.services)
        last_answer: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while pending:
                for service in list(pending):
                    self._check_alive(service)
                    ready, last_answer[service.name] = _readiness(client, service.url)
                    if ready:
                        pending.remove(service)
                        self.console.print(f"[green]✓[/] {service.name} is ready")
                if pending and time.monotonic() > deadline:
                    late = pending[0]
                    raise StackFailed(
                        f"{late.name} was not ready within {timeout:g} s "
                        f"(last answer of /readyz: {last_answer[late.name]})",
                        late.log,
                        late.log_offset,
                    )
                if pending:
                    self.signals.sleep(0.2)

    def _check_alive(self, service: ManagedService) -> None:
        code = service.process.poll()
        if code is not None:
            raise StackFailed(
                f"{service.name} exited with code {code}", service.log, service.log_offset
            )

    def watch(self) -> NoReturn:
        """Stay in the foreground until a stop signal (raises `StopRequested`) or a crash."""
        while True:
            self.signals.sleep(0.5)
            for service in self.services:
                self._check_alive(service)
            if self.nats is not None and self.nats.process is not None:
                code = self.nats.process.poll()
                if code is not None:
                    raise StackFailed(
                        f"nats-server exited with code {code}",
                        self.paths.log("nats"),
                        self.nats_log_offset,
                    )

    def stop(self) -> None:
        """Stop the services (SIGTERM, then SIGKILL after a grace period), then nats-server."""
        for service in self.services:
            _signal_group(service.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for service in self.services:
            # A second Ctrl-C means "now": skip the grace period.
            while service.process.poll() is None and time.monotonic() < deadline:
                if self.signals.received > 1:
                    break
                time.sleep(0.05)
            if service.process.poll() is None:
                self.console.print(f"[yellow]{service.name} did not stop in time; killing it[/]")
                _signal_group(service.process, signal.SIGKILL)
            service.process.wait()
        self.services.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None

    def description(self, tokens: dict[str, str], projects: list[str]) -> dict[str, Any]:
        """The content of `stack.json`."""
        nats_process = self.nats.process if self.nats is not None else None
        return {
            "pid": os.getpid(),
            "nats_url": self.nats_url,
            "nats": {
                "url": self.nats_url,
                "embedded": self.nats is not None,
                "pid": nats_process.pid if nats_process is not None else None,
                "log": str(self.paths.log("nats")) if self.nats is not None else None,
                "store_dir": str(self.paths.nats_store) if self.nats is not None else None,
            },
            "services": {
                s.name: {
                    "url": s.url,
                    "pid": s.process.pid,
                    "log": str(s.log),
                    "database_url": masked_url(s.database_url),
                }
                for s in self.services
            },
            "tenant": DEMO_TENANT,
            "projects": projects,
            "tokens": tokens,
        }


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # Each service leads its own process group; signal the group so helpers it spawned go too.
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


def _readiness(client: httpx.Client, url: str) -> tuple[bool, str]:
    """Whether `url` is ready, and its answer in a few words for an error message."""
    try:
        response = client.get(f"{url}/readyz")
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return response.status_code == 200, f"{response.status_code} {response.text[:300]}".strip()
