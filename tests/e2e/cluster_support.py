"""A production-shaped deployment on loopback for the end-to-end tests: a three-node NATS
cluster (JetStream clustered, streams R3) and services as real processes, several
instances each, every one of which a test may kill.

The cluster is configured as deploy/nats/nats-server.conf configures one (a cluster
name, a server name per node, routes to all three), with free ports and a store
directory per node; the services are started as `wo up` starts them
(`wo.layout.service_environment`), with `NATS_URL` listing every node.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from wo.layout import LOOPBACK, project_root, service_environment
from wo.processes import NatsServer, free_port, open_private

CLUSTER_NAME = "workorders"
READY_TIMEOUT = 60.0
"""Seconds a node or a service may take to be ready (a loaded CI machine is slow)."""
STOP_GRACE_SECONDS = 10.0
LOG_TAIL_CHARACTERS = 6000


def free_ports(count: int, taken: set[int]) -> list[int]:
    """`count` free loopback ports, none of them in `taken` (which they join): a port
    handed out but not yet bound looks free to the kernel."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in taken:
            taken.add(port)
            ports.append(port)
    return ports


@dataclass
class ClusterNode:
    """One node of the cluster: its server, and its route and monitoring ports."""

    name: str
    server: NatsServer
    cluster_port: int
    monitor_port: int
    log: Path

    @property
    def url(self) -> str:
        """The node's client URL."""
        return self.server.url

    @property
    def running(self) -> bool:
        """Whether its process is alive."""
        process = self.server.process
        return process is not None and process.poll() is None


class NatsCluster:
    """Three `nats-server` nodes on loopback forming cluster `workorders` with JetStream."""

    def __init__(self, workdir: Path, taken: set[int], size: int = 3) -> None:
        ports = free_ports(3 * size, taken)
        routes = ",".join(f"nats://{LOOPBACK}:{ports[3 * i + 1]}" for i in range(size))
        self.nodes: list[ClusterNode] = []
        for i in range(size):
            name = f"nats-{i + 1}"
            client_port, cluster_port, monitor_port = ports[3 * i : 3 * i + 3]
            args = [
                "--server_name", name,
                "--cluster_name", CLUSTER_NAME,
                "--cluster", f"nats://{LOOPBACK}:{cluster_port}",
                "--routes", routes,
                "-m", str(monitor_port),
            ]  # fmt: skip
            server = NatsServer(workdir / name, client_port, LOOPBACK, extra_args=args)
            self.nodes.append(
                ClusterNode(name, server, cluster_port, monitor_port, workdir / f"{name}.log")
            )

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated, as the services' `NATS_URL` lists them."""
        return ",".join(node.url for node in self.nodes)

    @property
    def live_url(self) -> str:
        """The client URLs of the nodes still running (a test's own client need not retry
        a node it killed)."""
        return ",".join(node.url for node in self.nodes if node.running)

    def start(self) -> None:
        """Start every node and wait until each one's JetStream is current with the
        cluster's (its `/healthz` answers 200: a meta leader is elected and known)."""
        for node in self.nodes:
            node.server.start(log_file=node.log)
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            for node in self.nodes:
                while not _healthy(client, node):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{node.name} was not healthy in time:\n{tail(node.log)}"
                        )
                    time.sleep(0.1)

    def node(self, name: str) -> ClusterNode:
        """The node called `name` (a stream's leader, as JetStream names it)."""
        return next(node for node in self.nodes if node.name == name)

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL the node: a crash, its store left as it was."""
        node.server.kill()

    def stop(self) -> None:
        """Stop every node still running."""
        for node in self.nodes:
            node.server.stop()

    def logs(self) -> str:
        """The tail of every node's log, for a failure's report."""
        return "\n".join(f"==== {node.name} ====\n{tail(node.log)}" for node in self.nodes)


def _healthy(client: httpx.Client, node: ClusterNode) -> bool:
    try:
        answer = client.get(f"http://{LOOPBACK}:{node.monitor_port}/healthz")
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


@dataclass
class ServiceProcess:
    """One instance of a service, `python -m services.<name>`, on its own port and log."""

    name: str
    label: str
    """Which instance (`dispatch-a`): its log file's name."""
    port: int
    env: dict[str, str]
    log: Path
    instance: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of its HTTP API."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        """Its process id (it leads its own process group)."""
        assert self.process is not None, f"{self.label} was not started"
        return self.process.pid

    def start(self) -> None:
        """Start the process; see `wait_ready`."""
        env = {**self.env, "INSTANCE_ID": self.instance}
        with open_private(self.log) as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                cwd=project_root(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, client: httpx.Client, deadline: float) -> None:
        """Wait until its `/readyz` answers 200 naming this instance; fail if it exits."""
        answer = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.label} exited with {self.process.returncode}:\n{tail(self.log)}"
                )
            try:
                response = client.get(f"{self.url}/readyz")
                answer = f"{response.status_code} {response.text[:300]}"
                if response.status_code == 200 and response.json().get("instance") == self.instance:
                    return
            except httpx.HTTPError as exc:
                answer = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise RuntimeError(f"{self.label} was not ready in time ({answer}):\n{tail(self.log)}")

    def freeze(self) -> None:
        """Freeze the process (SIGSTOP: it writes nothing more) so a test can look at it."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen process run again (SIGCONT)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL its process group: a crash, whatever it was doing."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM); see `wait_stopped`."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait_stopped(self, deadline: float) -> None:
        """Wait for it to exit until `deadline` (monotonic), then SIGKILL it."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()


def service_process(
    name: str,
    label: str,
    workdir: Path,
    nats_url: str,
    database_url: str,
    settings: Mapping[str, str],
    taken: set[int],
    base: Mapping[str, str] | None = None,
) -> ServiceProcess:
    """An instance of service `name` configured as `wo up` configures one, plus `settings`,
    on a port not in `taken`."""
    [port] = free_ports(1, taken)
    env = service_environment(
        name, port, nats_url, database_url, dict(os.environ if base is None else base), ""
    )
    env.update(settings)
    return ServiceProcess(name, label, port, env, workdir / f"{label}.log")


def start_all(services: list[ServiceProcess]) -> None:
    """Start `services` together and wait until every one is ready."""
    for service in services:
        service.start()
    deadline = time.monotonic() + READY_TIMEOUT
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        for service in services:
            service.wait_ready(client, deadline)


@contextlib.contextmanager
def stopped_at_exit(cluster: NatsCluster, services: list[ServiceProcess]) -> Iterator[None]:
    """Leave no process behind: the services first (their clients leave NATS), then NATS."""
    try:
        yield
    finally:
        for service in services:
            service.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for service in services:
            service.wait_stopped(deadline)
        cluster.stop()


def tcp_ports(pid: int) -> set[int]:
    """The local TCP ports of every socket process `pid` holds open (Linux /proc).

    Freeze the process first (`ServiceProcess.freeze`): a running one may open
    another connection after the look.
    """
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            columns = line.split()
            if columns[9] in inodes:
                ports.add(int(columns[1].rsplit(":", 1)[1], 16))
    return ports


def tail(path: Path, characters: int = LOG_TAIL_CHARACTERS) -> str:
    """The end of a log file (or a note that there is none)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return text[-characters:]


def service_logs(services: list[ServiceProcess]) -> str:
    """The tail of every service's log, for a failure's report."""
    return "\n".join(f"==== {s.label} ====\n{tail(s.log)}" for s in services)
