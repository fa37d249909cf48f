"""What the benchmarks share: a dispatch process on a real database and NATS, percentiles."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
import httpx

from shared.auth import Role
from wo.processes import NatsServer, free_port, wait_for_port
from wo.token import mint_dev_token


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def machine() -> dict[str, Any]:
    """The machine the numbers were taken on."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def dev_token(role: Role, tenant: str = "bench", subject: str | None = None) -> str:
    """A development token for the benchmark tenant."""
    return mint_dev_token(
        role=role, tenant=tenant, projects=["*"], subject=subject or f"{role.value}-bench"
    )


@dataclass
class Stack:
    """A dispatch process and its nats-server, for a benchmark run."""

    base_url: str
    nats_url: str
    database_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def dispatch_stack(workdir: Path, database_url: str, **env: str) -> Iterator[Stack]:
    """Start nats-server and `python -m services.dispatch` on free loopback ports."""
    nats = NatsServer(workdir / "nats")
    nats.start(log_file=workdir / "nats.log")
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats.url,
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    log = (workdir / "dispatch.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.dispatch"], env=environment, stdout=log, stderr=log
    )
    try:
        if not wait_for_port("127.0.0.1", port, 60):
            raise RuntimeError(f"dispatch did not start; see {workdir / 'dispatch.log'}")
        base_url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base_url) as client:
            for _ in range(200):
                if client.get("/readyz").status_code == 200:
                    break
                time.sleep(0.1)
        yield Stack(base_url, nats.url, database_url, process)
    finally:
        stop_service(process, log, nats)


def stop_service(process: subprocess.Popen[bytes], log: IO[bytes], nats: NatsServer) -> None:
    """Stop a service process (SIGTERM, then SIGKILL after 20 s), close its log, stop NATS."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    nats.stop()


async def register_project(session: aiohttp.ClientSession, project: str) -> None:
    """Register a benchmark project (idempotent across runs)."""
    details = {"name": project, "time_zone": "Asia/Shanghai", "households": 1000}
    async with session.post(
        "/v1/projects",
        json={"project": project, "details": details},
        headers={"Authorization": f"Bearer {dev_token(Role.HQ_QUALITY)}"},
    ) as response:
        if response.status not in (201, 409):
            raise RuntimeError(f"could not register {project}: {await response.text()}")


class Stopwatch:
    """Wall time since creation."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since start."""
        return time.perf_counter() - self.started
