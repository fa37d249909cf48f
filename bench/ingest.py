"""Reports over HTTP: dispatch against what a user would pick instead (issue 18, aim 1).

Usage: python -m bench.ingest [--backend sqlite|postgresql|both] [--rounds 3] [--seconds 10]

Four peers, each one server process on loopback, served by uvicorn as dispatch is,
each loaded in turn by `wrk -t1 -c32` posting the same report (a leaking kitchen pipe):

- dispatch: `python -m services.dispatch` as a user runs it (relay and SLA scheduler
  on, a nats-server on a free port), `POST /v1/work-orders` with a customer-service
  token minted as `wo token` does and a fresh `Idempotency-Key` on every request;
- eventsourcing: the `eventsourcing` library behind FastAPI, one aggregate saved per
  report, on the library's own SQLite or PostgreSQL module (`bench/peers/`);
- plain: FastAPI and one SQLAlchemy async INSERT per report, on dispatch's drivers;
- floor: FastAPI validating the report and answering, storing nothing: the framework's
  own CPU per request, which every other peer pays before its storage and its rules.

On each backend, rounds alternate the peers (the order turns each round), and each
turn starts its server, warms it up, loads it for `--seconds`, and reads the server's
own CPU (its process and children, from /proc) before and after; dispatch's CPU
includes its relay publishing what the load reported (the turn ends once the outbox is
drained, at most 60 s). A peer with any non-2xx answer or socket error is reported as
failing, not measured. PostgreSQL is the server at `--postgres` (databases
bench_ingest_*, made afresh for every turn); SQLite files are in a temporary directory,
a new one each turn. The table gives each peer's median over the rounds, and dispatch's
ratios to the eventsourcing peer. Results go to bench/results/ingest-peers.json (a run of some peers, or without
idempotency keys, to a file named after it). Needs Debian's `wrk` and the
`bench` extra. The older mix of reports and progress reports, the raw SQL and NATS
rates and the relay drain are `python -m bench.ingest_mix`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.proc_cpu import grown, own_cpu_seconds, tree_cpu_seconds
from bench.support import (
    calibration,
    dev_token,
    dispatch_stacks,
    machine,
    register_project,
    served,
    services_driver,
)
from bench.wrk import Target, WrkRun, post_script, require_wrk, run_wrks, split_connections
from services.dispatch.adapters.event_store import SqlEventStore
from shared.auth import Role
from shared.database import create_engine
from shared.logging import configure_logging
from tests.integration.dispatch.api_support import report_body

PEERS = ("dispatch", "eventsourcing", "plain", "floor")
STORING = ("dispatch", "eventsourcing", "plain")
"""The peers that keep their reports in a database (the floor keeps none)."""
PROJECT = "bench-a"
REPORT = report_body(project=PROJECT, description="厨房水管漏水,需要尽快上门维修")
CONNECTIONS = 32
DRAIN_SECONDS = 60.0
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
T = TypeVar("T")
V = TypeVar("V")


@dataclass(frozen=True)
class Turn:
    """One peer loaded once."""

    backend: str
    peer: str
    round: int
    requests: int
    requests_per_s: float
    non_2xx: int
    socket_errors: int
    latency_ms: dict[int, float]
    cpu_seconds: float
    wall_seconds: float
    """From the CPU reading before the load to the one after it (dispatch: drained)."""
    groups: Groups | None = None
    """dispatch's group commit over the load (its `/metrics`); None for the other peers."""

    @property
    def ok(self) -> bool:
        """Whether every request was answered in 2xx."""
        return self.non_2xx == 0 and self.socket_errors == 0 and self.requests > 0

    @property
    def cpu_ms_per_request(self) -> float:
        """The server's CPU per answered request."""
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0

    @classmethod
    def of(
        cls,
        backend: str,
        peer: str,
        round_index: int,
        run: WrkRun,
        cpu: float,
        wall: float,
        groups: Groups | None = None,
    ) -> Turn:
        """The turn of round `round_index` (from 0) that wrk measured as `run`."""
        return cls(
            backend,
            peer,
            round_index + 1,
            run.requests,
            run.requests_per_s,
            run.non_2xx,
            run.socket_errors,
            run.latency_ms,
            round(cpu, 3),
            round(wall, 2),
            groups,
        )

    @property
    def figures(self) -> str:
        """CPU, latency and errors, and dispatch's groups, as a progress line gives them."""
        shown = (
            f"{self.cpu_ms_per_request:6.2f} ms CPU/req  p50 {self.latency_ms.get(50, 0):.0f} ms  "
            f"p99 {self.latency_ms.get(99, 0):.0f} ms  "
            f"non-2xx {self.non_2xx}  socket errors {self.socket_errors}"
        )
        if self.groups is not None and self.groups.count:
            shown += (
                f"  groups of {self.groups.mean_size:.1f} in {self.groups.mean_ms:.1f} ms, "
                f"writer busy {self.groups.seconds / self.wall_seconds:.0%}"
            )
        return shown


@dataclass(frozen=True)
class Groups:
    """dispatch's group commit over a load, from its `/metrics` (operations.md): groups
    committed, the appends in them, and the wall seconds their transactions took."""

    count: float
    appends: float
    seconds: float

    @property
    def mean_size(self) -> float:
        """Appends a group."""
        return self.appends / self.count if self.count else 0.0

    @property
    def mean_ms(self) -> float:
        """Milliseconds a group's transaction."""
        return 1000 * self.seconds / self.count if self.count else 0.0

    def since(self, before: Groups) -> Groups:
        """What was committed after `before` was read."""
        return Groups(
            self.count - before.count, self.appends - before.appends, self.seconds - before.seconds
        )


GROUP_SAMPLES = {
    "dispatch_group_commit_size_count": "count",
    "dispatch_group_commit_size_sum": "appends",
    "dispatch_group_commit_seconds_sum": "seconds",
}


def groups_in(metrics: str) -> Groups | None:
    """The group commit's totals in a `/metrics` text; None if it has none (not dispatch)."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name in GROUP_SAMPLES:
                found[GROUP_SAMPLES[sample.name]] = sample.value
    return Groups(**found) if len(found) == len(GROUP_SAMPLES) else None


async def metrics_of(server: Server) -> str:
    """`server`'s `/metrics` text; empty for a peer without them."""
    async with (
        aiohttp.ClientSession(server.base_url) as session,
        session.get("/metrics") as response,
    ):
        return await response.text() if response.status == 200 else ""


async def groups_of(server: Server) -> Groups | None:
    """The group commit's totals of `server` so far; None for a peer without them."""
    return groups_in(await metrics_of(server))


@dataclass
class Server:
    """A peer's server, ready for load."""

    base_url: str
    pid: int
    headers: dict[str, str]
    idempotent: bool
    database_url: str | None = None
    """dispatch's database, to wait for its outbox to drain."""


def turn_order(round_index: int, peers: tuple[T, ...]) -> list[T]:
    """The peers (or instance counts) in round `round_index`'s order: it turns by one each
    round, so none always goes first (a cold cache) or last (a warmer, or busier, machine)."""
    shift = round_index % len(peers)
    return list(peers[shift:] + peers[:shift])


@dataclass(frozen=True)
class Databases:
    """Where each peer stores its reports on one backend."""

    backend: str
    dispatch_url: str
    plain_url: str
    eventsourcing_env: dict[str, str]


def sqlite_databases(workdir: Path) -> Databases:
    """A SQLite file for each peer in `workdir`."""
    return Databases(
        "sqlite",
        f"sqlite+aiosqlite:///{workdir / 'dispatch.db'}",
        f"sqlite+aiosqlite:///{workdir / 'plain.db'}",
        {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(workdir / "es.db")},
    )


async def fresh_postgres(admin_url: str, name: str) -> str:
    """Database `name` made afresh on the server at `admin_url`; its URL (asyncpg)."""
    admin = make_url(services_driver(admin_url))
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        await engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def _fresh_databases(backend: str, admin_url: str) -> Callable[[Path], Awaitable[Databases]]:
    """How a turn gets databases of its own on `backend`."""

    async def fresh(turn_dir: Path) -> Databases:
        if backend == "sqlite":
            return sqlite_databases(turn_dir)
        return await postgres_databases(admin_url)

    return fresh


async def postgres_databases(admin_url: str) -> Databases:
    """Fresh databases bench_ingest_{dispatch,eventsourcing,plain} on the server at `admin_url`."""
    urls = {peer: await fresh_postgres(admin_url, f"bench_ingest_{peer}") for peer in STORING}
    admin = make_url(admin_url)
    return Databases(
        "postgresql",
        urls["dispatch"],
        urls["plain"],
        {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": "bench_ingest_eventsourcing",
            "POSTGRES_HOST": admin.host or "127.0.0.1",
            "POSTGRES_PORT": str(admin.port or 5432),
            "POSTGRES_USER": admin.username or "postgres",
            "POSTGRES_PASSWORD": admin.password or "",
        },
    )


@asynccontextmanager
async def dispatch_servers(
    workdir: Path,
    database_url: str,
    instances: int = 1,
    module: str = "services.dispatch",
    *,
    idempotent: bool = True,
    **env: str,
) -> AsyncIterator[list[Server]]:
    """`instances` dispatch processes as deployed (each with its relay and SLA scheduler
    on), one NATS and one database for all, the project registered."""
    with dispatch_stacks(
        workdir,
        database_url,
        instances,
        module=module,
        RELAY_ENABLED="true",
        SLA_SCHEDULER_ENABLED="true",
        HTTP_WORKERS="1",
        **env,
    ) as stacks:
        async with aiohttp.ClientSession(stacks[0].base_url) as session:
            await register_project(session, PROJECT)
        headers = {
            "Authorization": f"Bearer {dev_token(Role.CUSTOMER_SERVICE)}",
            "Content-Type": "application/json",
        }
        yield [
            Server(
                stack.base_url,
                stack.process.pid,
                headers,
                idempotent=idempotent,
                database_url=database_url,
            )
            for stack in stacks
        ]


@asynccontextmanager
async def dispatch_server(
    workdir: Path,
    database_url: str,
    module: str = "services.dispatch",
    *,
    idempotent: bool = True,
    **env: str,
) -> AsyncIterator[Server]:
    """dispatch as deployed (relay and SLA scheduler on), its project registered."""
    async with dispatch_servers(workdir, database_url, 1, module, idempotent=idempotent, **env) as (
        server,
    ):
        yield server


@contextmanager
def peer_server(peer: str, workdir: Path, env: dict[str, str]) -> Iterator[Server]:
    """`python -m bench.peers <peer>` on a free port."""
    with served(
        [sys.executable, "-m", "bench.peers", peer], env, workdir / f"{peer}.log", None
    ) as server:
        yield Server(
            server.base_url,
            server.process.pid,
            {"Content-Type": "application/json"},
            idempotent=False,
        )


@asynccontextmanager
async def started(
    peer: str, workdir: Path, databases: Databases, *, idempotent: bool
) -> AsyncIterator[Server]:
    """The peer's server on `databases` (dispatch's requests with `Idempotency-Key`s if
    `idempotent`)."""
    if peer == "dispatch":
        async with dispatch_server(
            workdir, databases.dispatch_url, idempotent=idempotent
        ) as server:
            yield server
    elif peer == "eventsourcing":
        with peer_server(peer, workdir, databases.eventsourcing_env) as server:
            yield server
    elif peer == "floor":
        with peer_server(peer, workdir, {}) as server:
            yield server
    else:
        with peer_server(peer, workdir, {"DATABASE_URL": databases.plain_url}) as server:
            yield server


async def drained(database_url: str, seconds: float) -> int:
    """Wait (at most `seconds`) until dispatch's relay has published its outbox; the rows
    still pending."""
    engine = create_engine(database_url, pool_size=1)
    store = SqlEventStore(engine)
    try:
        for _ in range(round(seconds / 0.2)):
            if not await store.outbox_backlog():
                return 0
            await asyncio.sleep(0.2)
        return await store.outbox_backlog()
    finally:
        await store.close()
        await engine.dispose()


def script_for(server: Server, workdir: Path, name: str) -> Path:
    """The wrk script posting the report to `server`, with a fresh key prefix."""
    script = workdir / f"{name}.lua"
    prefix = uuid.uuid4().hex if server.idempotent else None
    script.write_text(post_script("/v1/work-orders", REPORT, server.headers, prefix), "utf-8")
    return script


async def probe(server: Server) -> tuple[int, str]:
    """One report as wrk will post it: its status and answer (a failing peer's reason)."""
    headers = {**server.headers}
    if server.idempotent:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    async with (
        aiohttp.ClientSession(server.base_url) as session,
        session.post("/v1/work-orders", json=REPORT, headers=headers) as response,
    ):
        return response.status, await response.text()


@dataclass(frozen=True)
class Loaded:
    """What one load of some servers measured."""

    runs: list[WrkRun]
    """wrk's figures, one a server."""
    cpu: float
    """The servers' CPU seconds together."""
    wall: float
    """Seconds between the CPU readings."""
    database_cpu: float | None
    """CPU seconds of the PostgreSQL backends serving the database, when asked for."""
    groups: Groups | None = None
    """dispatch's group commit over the load, all servers together (None: not dispatch)."""


async def load(
    servers: list[Server],
    workdir: Path,
    name: str,
    *,
    seconds: int,
    warmup: int,
    count_database: bool = False,
) -> Loaded:
    """Warm up, then load `servers` at once for `seconds` (the connections shared among
    them, one wrk each), and read the servers' CPU (and, with `count_database`, that of
    the PostgreSQL backends connected to their database) before the load and after the
    outbox is drained. One database for all: drained after the warm-up and the load."""
    for server in servers:
        status, answer = await probe(server)
        if not 200 <= status < 300:
            print(f"  {name}: a report was answered {status}: {answer[:300]}", flush=True)
    database_url = servers[0].database_url
    if warmup:
        run_wrks(targets(servers, workdir, f"{name}-warmup"), seconds=warmup)
        if database_url is not None:
            await drained(database_url, DRAIN_SECONDS)
    loading = targets(servers, workdir, name)
    backends = database_url if count_database else None
    database_before = await backends_cpu(backends)
    groups_before = await _all_groups(servers)
    began, cpu_before = time.monotonic(), servers_cpu_seconds(servers)
    runs = run_wrks(loading, seconds=seconds)
    if database_url is not None:
        pending = await drained(database_url, DRAIN_SECONDS)
        if pending:
            print(f"  warning: {pending} outbox rows still pending", flush=True)
    cpu = servers_cpu_seconds(servers) - cpu_before
    wall = time.monotonic() - began
    database_cpu = grown(database_before, await backends_cpu(backends)) if backends else None
    groups_after = await _all_groups(servers)
    groups = (
        groups_after.since(groups_before)
        if groups_after is not None and groups_before is not None
        else None
    )
    return Loaded(runs, cpu, wall, database_cpu, groups)


async def _all_groups(servers: list[Server]) -> Groups | None:
    return summed([await groups_of(server) for server in servers])


def summed(found: list[Groups | None]) -> Groups | None:
    """Several processes' group commits together; None unless every one has them."""
    known = [g for g in found if g is not None]
    if len(known) < len(found):
        return None
    return Groups(
        sum(g.count for g in known), sum(g.appends for g in known), sum(g.seconds for g in known)
    )


async def backends_cpu(database_url: str | None) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to `database_url`'s
    database (by pid, from /proc: the server is on this machine), but the asking one;
    nothing without a URL."""
    if database_url is None:
        return {}
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            pids = [int(row[0]) for row in found]
    finally:
        await engine.dispose()
    return own_cpu_seconds(pids)


def targets(servers: list[Server], workdir: Path, name: str) -> list[Target]:
    """One wrk target a server, `CONNECTIONS` shared among them, each with its own script
    (its own key prefix)."""
    shares = split_connections(CONNECTIONS, len(servers))
    return [
        Target(server.base_url, script_for(server, workdir, f"{name}-{n}"), connections)
        for n, (server, connections) in enumerate(zip(servers, shares, strict=True), 1)
    ]


def servers_cpu_seconds(servers: list[Server]) -> float:
    """CPU seconds so far of every server's process tree, summed."""
    return sum(tree_cpu_seconds(server.pid) for server in servers)


async def measure_backend(
    fresh: Callable[[Path], Awaitable[Databases]], workdir: Path, args: argparse.Namespace
) -> list[Turn]:
    """Every peer `rounds` times on one backend, alternated, each turn on `fresh`
    databases: no turn pays for an earlier one's rows, nor for dispatch's SLA timers of
    an earlier turn's reports falling due (the arrival clock's breach comes 3 minutes
    after a report, inside a later turn)."""
    turns: list[Turn] = []
    for round_index in range(args.rounds):
        for peer in turn_order(round_index, args.peers):
            turn_dir = workdir / f"{round_index}-{peer}"
            turn_dir.mkdir()
            databases = await fresh(turn_dir)
            async with started(
                peer, turn_dir, databases, idempotent=args.idempotency_key
            ) as server:
                name = f"{databases.backend}-{peer}-{round_index}"
                loaded = await load(
                    [server], turn_dir, name, seconds=args.seconds, warmup=args.warmup
                )
            turn = Turn.of(
                databases.backend,
                peer,
                round_index,
                loaded.runs[0],
                loaded.cpu,
                loaded.wall,
                loaded.groups,
            )
            turns.append(turn)
            print(
                f"  {turn.backend:10} round {turn.round} {peer:13} "
                f"{turn.requests_per_s:8.1f} req/s  {turn.figures}",
                flush=True,
            )
    return turns


@dataclass(frozen=True)
class Summary:
    """A peer's figures on one backend over its rounds (medians)."""

    backend: str
    peer: str
    rounds: int
    failing: bool
    requests_per_s: float
    cpu_ms_per_request: float
    non_2xx: int
    socket_errors: int


def summarise(turns: list[Turn]) -> list[Summary]:
    """Each (backend, peer)'s medians; failing if any of its turns had an error."""
    summaries = []
    for backend in dict.fromkeys(t.backend for t in turns):
        for peer in PEERS:
            mine = [t for t in turns if t.backend == backend and t.peer == peer]
            if not mine:
                continue
            summaries.append(
                Summary(
                    backend,
                    peer,
                    len(mine),
                    failing=not all(t.ok for t in mine),
                    requests_per_s=round(statistics.median(t.requests_per_s for t in mine), 1),
                    cpu_ms_per_request=round(
                        statistics.median(t.cpu_ms_per_request for t in mine), 3
                    ),
                    non_2xx=sum(t.non_2xx for t in mine),
                    socket_errors=sum(t.socket_errors for t in mine),
                )
            )
    return summaries


@dataclass(frozen=True)
class Variant(Generic[V]):
    """One variant of dispatch (an instance count, a padding) over its rounds."""

    key: int
    turns: list[V]
    failing: bool
    """Some turn had an error answer."""
    requests_per_s: float
    """The median over the rounds."""
    cpu_ms_per_request: float
    """The median over the rounds."""
    relative: float | None
    """Throughput over the base variant's (None if either failed, or with no base)."""


def variants(
    turns: list[V], key: Callable[[V], int], turn: Callable[[V], Turn], base: int
) -> list[Variant[V]]:
    """The turns by `key` (ascending), each key's medians and its throughput relative to
    the `base` key's."""
    grouped = {k: [t for t in turns if key(t) == k] for k in sorted({key(t) for t in turns})}
    rates = {
        k: statistics.median(turn(t).requests_per_s for t in mine) for k, mine in grouped.items()
    }
    failing = {k: not all(turn(t).ok for t in mine) for k, mine in grouped.items()}
    reference = rates[base] if base in grouped and not failing[base] else None
    return [
        Variant(
            k,
            mine,
            failing[k],
            round(rates[k], 1),
            round(statistics.median(turn(t).cpu_ms_per_request for t in mine), 3),
            round(rates[k] / reference, 3) if reference and not failing[k] else None,
        )
        for k, mine in grouped.items()
    ]


def ratios(summaries: list[Summary]) -> dict[str, dict[str, float | None]]:
    """dispatch / eventsourcing per backend: throughput and CPU per request (None when
    either failed)."""
    found: dict[str, dict[str, float | None]] = {}
    for backend in dict.fromkeys(s.backend for s in summaries):
        by_peer = {s.peer: s for s in summaries if s.backend == backend}
        ours, theirs = by_peer.get("dispatch"), by_peer.get("eventsourcing")
        usable = ours and theirs and not ours.failing and not theirs.failing
        found[backend] = {
            "requests_per_s": round(ours.requests_per_s / theirs.requests_per_s, 3)
            if usable and ours and theirs
            else None,
            "cpu_ms_per_request": round(ours.cpu_ms_per_request / theirs.cpu_ms_per_request, 3)
            if usable and ours and theirs
            else None,
        }
    return found


def table(summaries: list[Summary], found: dict[str, dict[str, float | None]]) -> str:
    """The results as a Markdown table and the ratio lines."""
    lines = [
        "| backend | peer | req/s (median) | CPU ms/req (median) | rounds | non-2xx / socket errors |",
        "|---|---|---|---|---|---|",
    ]
    for s in summaries:
        figures = (
            f"FAILING | FAILING | {s.rounds}"
            if s.failing
            else f"{s.requests_per_s:,.1f} | {s.cpu_ms_per_request:.2f} | {s.rounds}"
        )
        lines.append(f"| {s.backend} | {s.peer} | {figures} | {s.non_2xx} / {s.socket_errors} |")
    for backend, ratio in found.items():
        throughput, cpu = ratio["requests_per_s"], ratio["cpu_ms_per_request"]
        lines.append(
            f"{backend}: dispatch / eventsourcing: "
            + (
                f"throughput {throughput:.2f}x, CPU per request {cpu:.2f}x"
                if throughput is not None and cpu is not None
                else "no ratio (a peer failed)"
            )
        )
    return "\n".join(lines)


def options(description: str | None, *, backend: bool = True) -> argparse.ArgumentParser:
    """The options of bench/ingest.py, bench/ingest_instances.py and bench/profile_report.py:
    backend (unless PostgreSQL only), load, server."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if backend:
        parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=int, default=10, choices=range(1, 121), metavar="1..120")
    parser.add_argument(
        "--warmup", type=int, default=2, choices=range(0, 31), metavar="0..30",
        help="seconds of load before each measured one (not counted)",
    )  # fmt: skip
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL admin URL")
    return parser


def begin_run(args: argparse.Namespace, **fields: Any) -> dict[str, Any]:
    """Check for wrk, quiet the logs, and start a run's results: the machine, `--label`,
    the time, `fields` and the machine's calibration (printed)."""
    require_wrk()
    configure_logging("bench", "WARNING")
    results: dict[str, Any] = {
        "machine": machine(),
        "label": args.label,
        "at": datetime.now(UTC).isoformat(),
        **fields,
        "calibration_before": calibration(),
    }
    print(json.dumps(results["calibration_before"]), flush=True)
    return results


def _peers(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = set(chosen) - set(PEERS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"peers are {', '.join(PEERS)}; got {text!r}")
    return chosen


def backends(choice: str) -> tuple[str, ...]:
    """The backends `--backend` names, SQLite first."""
    return ("sqlite", "postgresql") if choice == "both" else (choice,)


def results_name(peers: tuple[str, ...], idempotency_key: bool) -> str:
    """The results file of a run: `ingest-peers.json` for the whole comparison, a variant's
    own name otherwise (so a partial run never overwrites the comparison)."""
    name = "ingest-peers"
    if peers != PEERS:
        name += "-" + "-".join(peers)
    if not idempotency_key:
        name += "-no-idempotency-key"
    return f"{name}.json"


async def main() -> None:
    parser = options(__doc__)
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11), metavar="1..10")
    parser.add_argument(
        "--peers",
        type=_peers,
        default=PEERS,
        help=f"which peers, comma-separated (default: {','.join(PEERS)})",
    )
    parser.add_argument(
        "--idempotency-key",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="dispatch's requests each carry a fresh Idempotency-Key (as a retrying client's do)",
    )
    parser.add_argument("--label", default="", help="the machine's state, kept with the results")
    args = parser.parse_args()
    results = begin_run(
        args,
        wrk=f"-t1 -c{CONNECTIONS} -d{args.seconds}s, warm-up {args.warmup}s",
        dispatch_idempotency_key=args.idempotency_key,
        peers=list(args.peers),
    )
    turns: list[Turn] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for backend in backends(args.backend):
            workdir = Path(tmp) / backend
            workdir.mkdir()
            turns += await measure_backend(_fresh_databases(backend, args.postgres), workdir, args)
    results["calibration_after"] = calibration()
    summaries = summarise(turns)
    found = ratios(summaries)
    results["turns"] = [
        {**asdict(t), "cpu_ms_per_request": round(t.cpu_ms_per_request, 3)} for t in turns
    ]
    results["summary"] = [asdict(s) for s in summaries]
    results["dispatch_over_eventsourcing"] = found
    print(json.dumps(results["calibration_after"]), flush=True)
    print(table(summaries, found), flush=True)
    out = Path(__file__).parent / "results" / results_name(args.peers, args.idempotency_key)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    asyncio.run(main())
