"""What the benchmarks share: a dispatch process on a real database and NATS, percentiles."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import aiohttp
import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.queries import SqlProjectDirectory
from services.dispatch.adapters.resident_keys import SqlKeyRing
from services.dispatch.service_layer.personal_data import Privacy
from services.dispatch.service_layer.sla import DefaultSlaPolicies
from shared.auth import Role
from shared.clock import SystemClock
from shared.database import create_engine
from shared.privacy.derivation import privacy_keys
from shared.privacy.fields import PersonalFields
from shared.privacy.wrapping import LocalKeyWrapper

# Imported at start-up, before a benchmark configures its own logging: importing the
# tests' conftest sets up test logging (INFO, every append a line on stderr), which
# must not stay in force while a benchmark measures. It reads TEST_DATABASE_URL only
# when a database is made.
from tests.conftest import FreshPostgresDatabase
from wo.processes import NatsServer, free_port, wait_for_port
from wo.token import mint_dev_token

T = TypeVar("T")


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


def calibration() -> dict[str, float]:
    """How fast this machine is right now: the CPU seconds of a loop of 10 million
    additions (0.64-1.75 s on machine A during a day) and the load averages."""
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    one, five, _ = os.getloadavg()
    return {
        "loop_10m_additions_s": round(time.process_time() - started, 3),
        "load_1min": one,
        "load_5min": five,
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


@dataclass
class Served:
    """An HTTP server process of a benchmark, ready on loopback."""

    base_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def served(
    args: list[str], env: dict[str, str], log_path: Path, ready_path: str | None = "/readyz"
) -> Iterator[Served]:
    """Run `args` (a server reading `HTTP_PORT`) on a free loopback port until the block
    ends; ready once the port accepts (and `ready_path`, if given, answers 200)."""
    port = free_port()
    log = log_path.open("ab")
    process = subprocess.Popen(
        args, env={**os.environ, **env, "HTTP_PORT": str(port)}, stdout=log, stderr=log
    )
    try:
        if not wait_for_port("127.0.0.1", port, 60):
            raise RuntimeError(f"{' '.join(args)} did not start; see {log_path}")
        base_url = f"http://127.0.0.1:{port}"
        if ready_path is not None:
            with httpx.Client(base_url=base_url) as client:
                for _ in range(200):
                    if client.get(ready_path).status_code == 200:
                        break
                    time.sleep(0.1)
        yield Served(base_url, process)
    finally:
        stop_process(process)
        log.close()


@contextmanager
def dispatch_stacks(
    workdir: Path,
    database_url: str,
    instances: int = 1,
    module: str = "services.dispatch",
    **env: str,
) -> Iterator[list[Stack]]:
    """Start one nats-server and `instances` processes of `python -m services.dispatch`
    (or a `module` wrapping it) on free loopback ports, all on `database_url`, one
    after the other (each migrates at start); logs `dispatch.log`, `dispatch-2.log`..."""
    nats = NatsServer(workdir / "nats")
    nats.start(log_file=workdir / "nats.log")
    environment = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats.url,
        "LOG_LEVEL": "WARNING",
        **env,
        # The benchmark's clients sign with the development secret.
        "ENVIRONMENT": "development",
    }
    try:
        with ExitStack() as processes:
            stacks = []
            for n in range(1, instances + 1):
                log = workdir / ("dispatch.log" if n == 1 else f"dispatch-{n}.log")
                server = processes.enter_context(
                    served([sys.executable, "-m", module], environment, log)
                )
                stacks.append(Stack(server.base_url, nats.url, database_url, server.process))
            yield stacks
    finally:
        nats.stop()


@contextmanager
def dispatch_stack(
    workdir: Path, database_url: str, module: str = "services.dispatch", **env: str
) -> Iterator[Stack]:
    """Start nats-server and `python -m services.dispatch` (or a `module` wrapping it) on
    free loopback ports."""
    with dispatch_stacks(workdir, database_url, 1, module, **env) as (stack,):
        yield stack


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a process: SIGTERM, then SIGKILL after 20 s."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def stop_service(process: subprocess.Popen[bytes], log: IO[bytes], nats: NatsServer) -> None:
    """Stop a service process (SIGTERM, then SIGKILL after 20 s), close its log, stop NATS."""
    stop_process(process)
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


async def on_fresh_database(
    run: Callable[[str], Awaitable[dict[str, Any]]], postgres: str | None, prefix: str
) -> dict[str, Any]:
    """`run(database_url)` on a fresh PostgreSQL database next to `postgres`, else a SQLite
    file in a temporary directory; its results stamped with the time."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as tmp:
        if postgres:
            os.environ["TEST_DATABASE_URL"] = services_driver(postgres)
            async with FreshPostgresDatabase() as url:
                results = await run(url)
        else:
            results = await run(f"sqlite+aiosqlite:///{Path(tmp) / f'{prefix}.db'}")
    results["at"] = datetime.now(UTC).isoformat()
    return results


def services_driver(url: str) -> str:
    """A PostgreSQL URL with the driver the services run on (asyncpg), whichever `--postgres`
    named: through another async driver the reporting rebuild silently took its slower
    path (no COPY), and a run on `postgresql://` measured 78 s instead of 40 s."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def write_results(results: dict[str, Any], name: str) -> None:
    """Print the results and write them to bench/results/`name`."""
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results), flush=True)
    print(f"written {out}")


async def paced(
    rate: float, seconds: float, start: Callable[[], Awaitable[T]]
) -> tuple[list[T], float]:
    """Start `start()` `rate` times a second for `seconds` without waiting for each, then
    wait for them all; their results (failures left out) and the rate achieved."""
    interval = 1.0 / rate
    began = time.perf_counter()
    tasks: list[asyncio.Task[T]] = []
    while (due := began + len(tasks) * interval) < began + seconds:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(start()))
    done = await asyncio.gather(*tasks, return_exceptions=True)
    results = [r for r in done if not isinstance(r, BaseException)]
    return results, len(results) / (time.perf_counter() - began)


@dataclass
class InProcess:
    """dispatch's parts in this process, as the benchmarks drive them without HTTP."""

    engine: AsyncEngine
    clock: SystemClock
    store: SqlEventStore
    policies: DefaultSlaPolicies
    projects: SqlProjectDirectory
    privacy: Privacy
    """Reports are sealed as dispatch seals them: the key ring in the database."""


BENCH_MASTER_KEY = b"bench master key, not a secret..."


async def in_process(database_url: str) -> InProcess:
    """A migrated database with dispatch's event store, SLA policies, project directory
    and the residents' key ring reports are sealed with."""
    engine = create_engine(database_url, pool_size=20)
    await upgrade(engine)
    clock = SystemClock()
    store = SqlEventStore(engine, clock=clock.now)
    keys = privacy_keys(BENCH_MASTER_KEY)
    ring = SqlKeyRing(engine, LocalKeyWrapper(keys), clock=clock.now)
    privacy = Privacy(PersonalFields(ring), keys.resident_reference, keys.blind_index)
    projects = SqlProjectDirectory(engine)
    return InProcess(engine, clock, store, DefaultSlaPolicies(), projects, privacy)
