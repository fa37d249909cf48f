"""The processes of the local stack: an embedded nats-server and the services.

Every child runs in its own session, so a terminal's Ctrl-C reaches only `wo up`,
which then stops the services first and NATS last. Stop signals become a flag that
the waiting loops poll, so stopping is orderly whatever `wo up` was doing.

Once up, the stack is supervised: a child that exits is started again after a back-off
(1 s doubling to 30 s; afresh once it ran for 30 s), and says so; only a stop signal
stops everything. A service counts as ready only when its `/readyz` answers with the
instance id this stack gave it: a foreign process that took the port in the meantime
is never announced nor sent a token. The embedded nats-server admits only the bus
users (`shared.bus_users`), each service with its own password.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import httpx
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shared.bus_users import INTEGRATOR, authorization, new_passwords, url_with_user
from shared.logging import redact_credentials
from wo.demo import DEMO_TENANT
from wo.layout import (
    LOOPBACK,
    NATS_PORT,
    SERVICE_PORTS,
    StackPaths,
    service_database_url,
    service_environment,
)
from wo.processes import NatsServer, free_port, open_private

STOP_GRACE_SECONDS = 10.0
LOG_TAIL_LINES = 40
RESTART_BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_SECONDS = 30.0
"""A child that ran this long before it exited is restarted after the shortest back-off."""


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


def _child_setup() -> None:
    # Runs in the child before exec: what it creates (SQLite files, journals) is the
    # owner's alone, for they hold residents' data.
    os.umask(0o077)
    # If `wo up` itself is killed (SIGKILL), the kernel sends the service SIGTERM instead
    # of leaving it holding its port.
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Restarts:
    """The back-off of one supervised child."""

    count: int = 0
    streak: int = 0
    """Exits in a row without a stable run in between (picks the back-off)."""
    due_at: float | None = None
    """When the exited child is to be started again; None while it runs."""

    def exited(self, ran_seconds: float) -> float:
        """Note an exit; return the delay before the restart."""
        if ran_seconds >= STABLE_SECONDS:
            self.streak = 0
        delay = RESTART_BACKOFF_SECONDS[min(self.streak, len(RESTART_BACKOFF_SECONDS) - 1)]
        self.streak += 1
        self.due_at = time.monotonic() + delay
        return delay

    def due(self) -> bool:
        """Whether the exited child is to be started now."""
        return self.due_at is not None and time.monotonic() >= self.due_at


@dataclass
class ManagedService:
    """A service child process of the stack."""

    name: str
    port: int
    log: Path
    log_offset: int
    database_url: str
    process: subprocess.Popen[bytes]
    instance: str
    """The id the service answers on `/readyz`: proof that it is this stack's child."""
    started_at: float = field(default_factory=time.monotonic)
    restarts: Restarts = field(default_factory=Restarts)
    announced: bool = False
    """Whether the running process was seen ready (and said so)."""

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
    nats_passwords: dict[str, str] = field(default_factory=new_passwords)
    nats_restarts: Restarts = field(default_factory=Restarts)
    nats_started_at: float = 0.0
    services: list[ManagedService] = field(default_factory=list)
    _ports: set[int] = field(default_factory=set)
    _planned: dict[str, int] = field(default_factory=dict)
    _root: Path = Path()

    def _port(self, preferred: int | None) -> int:
        # free_port only checks that a port is bindable now, so remember what this stack
        # handed out: two children must never be told the same port.
        port = free_port(preferred if preferred not in self._ports else None, LOOPBACK)
        while port in self._ports:
            port = free_port(None, LOOPBACK)
        self._ports.add(port)
        return port

    def plan_ports(self, names: list[str]) -> None:
        """Give every service its port before any starts, so each is told every other's
        URL: reporting, started before the console, sends `/dashboard/` to its address."""
        for name in names:
            self._planned.setdefault(name, self._port(SERVICE_PORTS.get(name)))

    def peer_urls(self) -> dict[str, str]:
        """The URL of every service of the stack, planned or started, by name."""
        planned = {name: f"http://{LOOPBACK}:{port}" for name, port in self._planned.items()}
        return {**planned, **{service.name: service.url for service in self.services}}

    def start_nats(self) -> None:
        """Use `NATS_URL` if the user set it, else start the embedded nats-server."""
        external = self.env.get("NATS_URL", "").strip()
        if external:
            self.nats_url = external
            shown = redact_credentials(external)
            self.console.print(f"Using NATS at [bold]{shown}[/] (NATS_URL is set)")
            return
        log = self.paths.log("nats")
        self.nats_log_offset = log.stat().st_size if log.exists() else 0
        self.nats = NatsServer(
            self.paths.nats_store,
            port=self._port(NATS_PORT),
            host=LOOPBACK,
            authorization=authorization(self.nats_passwords),
        )
        # Ports, not URLs, while starting: the first URL `wo up` prints is the console's.
        self.console.print(f"Starting nats-server on port {self.nats.port} …")
        self.nats_started_at = time.monotonic()
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
        self._root = root
        port = self._planned.get(name) or self._port(SERVICE_PORTS.get(name))
        log = self.paths.log(name)
        database_url = service_database_url(name, self.paths, self.env)
        instance = secrets.token_hex(16)
        process, offset = self._spawn(name, port, log, database_url, instance)
        service = ManagedService(name, port, log, offset, database_url, process, instance)
        self.services.append(service)
        self.console.print(f"Starting {name} on port {service.port} …")
        return service

    def service_nats_url(self, name: str) -> str:
        """The NATS URL service `name` connects with: its own user on the embedded server."""
        if self.nats is None or name not in self.nats_passwords:
            return self.nats_url
        return url_with_user(self.nats_url, name, self.nats_passwords[name])

    def _spawn(
        self, name: str, port: int, log: Path, database_url: str, instance: str
    ) -> tuple[subprocess.Popen[bytes], int]:
        peers = self.peer_urls()
        env = service_environment(
            name, port, self.service_nats_url(name), database_url, self.env, instance, peers
        )
        with open_private(log) as out:
            offset = out.tell()
            out.write(f"---- wo up: starting {name} on port {port} ----\n".encode())
            out.flush()
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=self._root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a terminal's Ctrl-C reaches only `wo up`, which then stops
                # the services before NATS instead of everything dying at once.
                start_new_session=True,
                preexec_fn=_child_setup,
            )
        return process, offset

    def wait_ready(self, timeout: float) -> None:
        """Wait until every service answers 200 on `/readyz`; fail if one dies or is late."""
        pending = list(self.services)
        last_answer: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while pending:
                for service in list(pending):
                    self._check_alive(service)
                    ready, last_answer[service.name] = self._readiness(client, service)
                    if ready:
                        pending.remove(service)
                        service.announced = True
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

    def _readiness(self, client: httpx.Client, service: ManagedService) -> tuple[bool, str]:
        """Whether `service` is ready; `StackFailed` if another process answers on its port."""
        ready, answer, instance = _readiness(client, service.url)
        if ready and instance != service.instance:
            raise StackFailed(
                f"port {service.port} is answered by a process that is not the {service.name} "
                f"this stack started (its /readyz names {instance or 'no instance'}); it is "
                f"neither announced nor sent a token. Stop whatever holds port "
                f"{service.port} and run `wo up` again",
                service.log,
                service.log_offset,
            )
        return ready, answer

    def watch(self, on_change: Callable[[], None] = lambda: None) -> NoReturn:
        """Supervise until a stop signal (raises `StopRequested`): restart what exits.

        `on_change` is called when a restarted child is up again (its pid changed).
        """
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                self.signals.sleep(0.2)
                self._supervise_nats(on_change)
                for service in self.services:
                    self._supervise(service, client, on_change)

    def _supervise(
        self, service: ManagedService, client: httpx.Client, on_change: Callable[[], None]
    ) -> None:
        code = service.process.poll()
        restarts = service.restarts
        if code is not None and restarts.due_at is None:
            ran = time.monotonic() - service.started_at
            self._exited(service.name, code, restarts, ran, f", log {service.log}")
        elif restarts.due():
            restarts.due_at = None
            service.instance = secrets.token_hex(16)
            service.process, service.log_offset = self._spawn(
                service.name, service.port, service.log, service.database_url, service.instance
            )
            service.started_at = time.monotonic()
            service.announced = False
            self.console.print(f"Restarting {service.name} on port {service.port} …")
        elif code is None and not service.announced:
            try:
                ready, _ = self._readiness(client, service)
            except StackFailed as exc:
                # Not ours on the port: our child cannot bind and exits, and is retried.
                self.console.print(f"[yellow]{exc.message}[/]", soft_wrap=True)
                service.announced = True
                return
            if ready:
                service.announced = True
                on_change()  # stack.json first: whoever reads the line finds the new pid
                self.console.print(f"[green]✓[/] {service.name} is ready again")

    def _exited(
        self, name: str, code: int, restarts: Restarts, ran_seconds: float, note: str = ""
    ) -> None:
        delay = restarts.exited(ran_seconds)
        restarts.count += 1
        self.console.print(
            f"[yellow]{name} exited with code {code}; restarting it in {delay:g} s "
            f"(restart {restarts.count}{note})[/]",
            soft_wrap=True,
        )

    def _supervise_nats(self, on_change: Callable[[], None]) -> None:
        if self.nats is None or self.nats.process is None:
            return
        code = self.nats.process.poll()
        restarts = self.nats_restarts
        if code is not None and restarts.due_at is None:
            self._exited("nats-server", code, restarts, time.monotonic() - self.nats_started_at)
        elif restarts.due():
            restarts.due_at = None
            self.nats_started_at = time.monotonic()
            try:
                self.nats.start(log_file=self.paths.log("nats"))
            except RuntimeError as exc:
                # It did not come up: try again after the next back-off.
                self.console.print(f"[yellow]{exc}[/]")
                return
            on_change()
            self.console.print("[green]✓[/] nats-server is up again")

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
        users: dict[str, Any] = {}
        reader_url = self.nats_url
        if self.nats is not None:
            # Every service's user (for `wo relay republish` and the like) and a
            # read-only one for scripts, `wo events tail` and integrators' trials.
            users = {
                user: {"user": user, "password": password, "url": self.service_nats_url(user)}
                for user, password in self.nats_passwords.items()
            }
            reader_url = users[INTEGRATOR]["url"]
        return {
            "pid": os.getpid(),
            "nats_url": reader_url,
            "nats": {
                "url": redact_credentials(self.nats_url),
                "users": users,
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


def _readiness(client: httpx.Client, url: str) -> tuple[bool, str, str | None]:
    """Whether `url` is ready, its answer in a few words, and the instance it names."""
    try:
        response = client.get(f"{url}/readyz")
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, None
    answer = f"{response.status_code} {response.text[:300]}".strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    instance = body.get("instance") if isinstance(body, dict) else None
    return response.status_code == 200, answer, instance if isinstance(instance, str) else None
