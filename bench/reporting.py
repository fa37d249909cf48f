"""Benchmark of reporting: projection rate against raw JetStream, rebuild, KPI latency, query p99.

    python -m bench.reporting [--throughput-events 100000] [--rebuild-events 1000000]
                              [--latency-seconds 30] [--rate 500] [--queries 50]
                              [--workers N]
    python -m bench.reporting --only-rebuild [--rebuild-events 1000000] [--workers 1,2]
                              [--backends sqlite,postgresql --postgres URL]

On one nats-server (embedded, file storage, loopback) and a SQLite read model:

1. **Projection throughput**: `--throughput-events` events (whole work-order lives, ~9
   events each) are published; a durable pull consumer that only fetches and acks reads
   them all, then reporting's projector (the shared consumer, one transaction per batch)
   does the same over the same stream; both fetch batches of the service's default
   `CONSUMER_BATCH_SIZE`.
   Events/s of each and the ratio.
2. **Rebuild**: more events are published up to `--rebuild-events` in all; `rebuild()`
   (what `wo reporting rebuild` runs) replays the stream into a fresh generation.
3. **KPI query p99** over that read model, each `--queries` times through the service-layer
   calls the API makes: every KPI for the whole group and the month (answered by the
   roll-up); every KPI for one project and one building (a dimension filter: the
   per-sample rows); one KPI for the group grouped by technician (the per-sample rows).
4. **Published → KPI on the stream**, on a fresh stream and read model: work-order events
   at `--rate` events/s for `--latency-seconds`, plus a probe order reported every 200 ms in
   a project of its own; the latency of a probe is from its publish to the arrival of the
   `kpi.bench.probe.backlog` message that counts it.

`--workers` is the rebuild's worker processes (default: the CPU count, as `wo reporting
rebuild`; 1 replays in the bench's own process).

`--only-rebuild` publishes `--rebuild-events` events once and measures the rebuild alone,
on each of `--backends` (SQLite in a temporary file; PostgreSQL in a fresh database beside
`--postgres URL`) with each of `--workers`: wall seconds, CPU seconds of the rebuild's
processes (the bench process and its workers; nats-server's apart, and PostgreSQL's
apart when its server runs on this machine: its postmaster's tree, every backend
included), the machine's calibration and load averages before and after. Results go to
bench/results/reporting-rebuild.json.

Loops are bounded in count and time. Results go to bench/results/reporting-sqlite.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.proc_cpu import parent_of, tree_cpu_seconds
from bench.support import calibration, machine, on_fresh_database, percentile, write_results
from services.reporting.adapters.kpi_stream import KpiPublisher
from services.reporting.adapters.migrate import upgrade
from services.reporting.adapters.rebuild import Workers, rebuild
from services.reporting.adapters.store import ReadModelStore
from services.reporting.domain.kpis import KPIS
from services.reporting.domain.periods import Period
from services.reporting.service_layer.projector import Projector
from services.reporting.service_layer.queries import KpiQuery, figure_groups, figures
from services.reporting.settings import ReportingSettings
from shared import heap
from shared.clock import SystemClock
from shared.consumer import ConsumerSpec, EventConsumer
from shared.database import Database, create_engine
from shared.logging import configure_logging
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM
from tests.unit.reporting.histories import OrderStory, project_event
from wo.processes import NatsServer

TENANT = "acme"  # the histories' tenant
PROJECTS = ("sunny", "river", "hill", "lake")
RESULTS = Path(__file__).parent / "results" / "reporting-sqlite.json"
BATCH: int = ReportingSettings.model_fields["consumer_batch_size"].default
PUBLISH_WINDOW = 1000
"""Publishes in flight at once (each waits for JetStream's ack)."""


def orders(count_events: int, start: datetime, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Whole work-order lives until `count_events` events, spread over 28 days."""
    made = 0
    n = seed
    while made < count_events:
        n += 1
        at = start + timedelta(seconds=(n * 7919) % (28 * 86400))
        story = OrderStory(PROJECTS[n % len(PROJECTS)], "repair", at, building=f"b{n % 5}")
        story.reported(at)
        story.emit("workorder.assigned", at + timedelta(minutes=1), assignee=f"tech-{n % 13}")
        story.emit("workorder.arrived", at + timedelta(minutes=2 + n % 3), technician="t")
        story.clock_met("arrival", at + timedelta(minutes=2 + n % 3), on_time=n % 3 != 2)
        story.emit("workorder.completed", at + timedelta(hours=5), summary="done")
        story.clock_met("resolution", at + timedelta(hours=5), on_time=n % 17 != 0)
        if n % 3 == 0:
            story.emit("workorder.follow_up_recorded", at + timedelta(hours=9), rating=4 + n % 2)
        yield from story.events[: count_events - made]
        made += len(story.events)


def subject_of(raw: dict[str, Any]) -> str:
    """The subject dispatch publishes an envelope on."""
    name = str(raw["type"]).rsplit(".", 1)[0]
    return f"events.{raw['tenant']}.{raw['project']}.{name}"


async def publish(js: JetStreamContext, events: Iterator[dict[str, Any]]) -> int:
    """Publish with a window of acks in flight; return the count."""
    pending: list[asyncio.Future[Any]] = []
    count = 0
    for raw in events:
        pending.append(asyncio.ensure_future(js.publish(subject_of(raw), orjson.dumps(raw))))
        count += 1
        if len(pending) >= PUBLISH_WINDOW:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return count


async def last_sequence(js: JetStreamContext) -> int:
    """The last sequence of EVENTS."""
    return int((await js.stream_info(EVENTS_STREAM)).state.last_seq)


async def raw_rate(js: JetStreamContext, total: int) -> float:
    """Events/s of a bare fetch-and-ack durable consumer over the whole stream."""
    await js.add_consumer(
        EVENTS_STREAM,
        ConsumerConfig(
            durable_name="raw",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=BATCH * 10,
        ),
    )
    subscription = await js.pull_subscribe_bind("raw", stream=EVENTS_STREAM)
    started = time.perf_counter()
    done = 0
    while done < total:
        for message in await subscription.fetch(BATCH, timeout=5):
            await message.ack()
            done += 1
    return done / (time.perf_counter() - started)


async def open_store(path: Path) -> tuple[ReadModelStore, Database]:
    """A migrated SQLite read model."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    database = Database(engine)
    return ReadModelStore(database, SystemClock()), database


async def close_store(database: Database) -> None:
    """Release the read model's connections."""
    database.close()
    await database.engine.dispose()


async def projection_rate(js: JetStreamContext, store: ReadModelStore, last: int) -> float:
    """Events/s of reporting's projector over the whole stream."""
    consumer = EventConsumer(
        js, ConsumerSpec(durable="reporting", batch_size=BATCH), Projector(store)
    )
    await consumer.ensure()
    started = time.perf_counter()
    fetched = 0
    while True:
        fetched += await consumer.run_once()
        # The position is read only once everything may be in: a read per batch would
        # compete with the projector for the database and be counted as its time.
        if fetched < last:
            continue
        checkpoint = await store.checkpoint("reporting")
        if checkpoint is not None and checkpoint.stream_sequence >= last:
            break
    return last / (time.perf_counter() - started)


async def query_p99(ask: Callable[[], Awaitable[object]], queries: int) -> dict[str, float]:
    """Latency of `queries` calls of `ask`, in ms."""
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        await ask()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99)}


async def queries_p99(store: ReadModelStore, queries: int, month: Period) -> dict[str, Any]:
    """The month's queries a dashboard asks, each `queries` times, through the service layer:
    every KPI for the group (the roll-up), every KPI for one project filtered by a building,
    and one KPI grouped by technician for the group (both from the per-sample rows)."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    group = KpiQuery(TENANT, None, month, now)
    building = KpiQuery(TENANT, frozenset({PROJECTS[0]}), month, now, {"building": "b1"})
    return {
        "all_kpis_group_month": await query_p99(lambda: figures(store, group, list(KPIS)), queries),
        "all_kpis_project_month_one_building": await query_p99(
            lambda: figures(store, building, list(KPIS)), queries
        ),
        "repair_timeliness_group_month_by_technician": await query_p99(
            lambda: figure_groups(store, group, "repair_timeliness", "technician"), queries
        ),
    }


async def latency(nats_url: str, workdir: Path, rate: int, seconds: float) -> dict[str, Any]:
    """Published → KPI on the stream at `rate` events/s (fresh stream and read model)."""
    client = await connect(nats_url, "bench-latency")
    js = client.jetstream()
    await js.purge_stream(EVENTS_STREAM)
    store, database = await open_store(workdir / "latency.db")
    stop = asyncio.Event()
    publisher = KpiPublisher(js, store, SystemClock())
    consumer = EventConsumer(
        js, ConsumerSpec(durable="latency", batch_size=BATCH), Projector(store, publisher.touched)
    )
    tasks = [asyncio.create_task(publisher.run(stop)), asyncio.create_task(consumer.run(stop))]
    now = datetime.now(UTC)
    probes: dict[int, float] = {}
    latencies: list[float] = []

    async def on_backlog(message: Any) -> None:
        arrived = time.perf_counter()
        count = int(orjson.loads(message.data)["numerator"])
        for k in [k for k in probes if k <= count]:
            latencies.append(arrived - probes.pop(k))

    await js.subscribe(f"kpi.{TENANT}.probe.backlog", cb=on_backlog, ordered_consumer=True)
    load = orders(int(rate * seconds), now)
    started = time.perf_counter()
    sent = probe = 0
    while time.perf_counter() - started < seconds:
        tick = time.perf_counter()
        batch = [next(load, None) for _ in range(rate // 10)]
        await publish(js, iter([e for e in batch if e is not None]))
        sent += len(batch)
        if (tick - started) // 0.2 >= probe:
            probe += 1
            story = OrderStory("probe", "suggestion", now).reported(now)
            probes[probe] = time.perf_counter()
            await js.publish(subject_of(story.events[0]), orjson.dumps(story.events[0]))
        await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - tick)))
    for _ in range(100):  # at most 10 s for the last probes
        if not probes:
            break
        await asyncio.sleep(0.1)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.close()
    await close_store(database)
    return {
        "rate_events_per_s": rate,
        "seconds": seconds,
        "events": sent,
        "probes": probe,
        "probes_never_seen": len(probes),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies, default=0.0) * 1000,
    }


async def projects_on_a_bus(
    workdir: Path,
) -> tuple[NatsServer, Client, JetStreamContext, datetime]:
    """A nats-server in `workdir` with the streams and the projects' registrations; a
    connection to it and the start of the orders' month."""
    server = NatsServer(workdir / "jetstream")
    server.start(log_file=workdir / "nats.log")
    client = await connect(server.url, "bench")
    js = client.jetstream()
    await ensure_streams(js)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    await publish(js, iter([project_event(p, 1000, start) for p in PROJECTS]))
    return server, client, js, start


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """All four measurements."""
    configure_logging("bench", "WARNING")
    # As `python -m services.reporting` does once its code is loaded (shared.heap).
    heap.settle()
    with tempfile.TemporaryDirectory(prefix="bench-reporting-") as tmp:
        workdir = Path(tmp)
        server, client, js, start = await projects_on_a_bus(workdir)
        try:
            await publish(js, orders(args.throughput_events, start))
            last = await last_sequence(js)
            raw = await raw_rate(js, last)
            store, database = await open_store(workdir / "live.db")
            projection = await projection_rate(js, store, last)
            await close_store(database)
            print(f"throughput: raw {raw:,.0f}/s, projection {projection:,.0f}/s", flush=True)

            more = max(0, args.rebuild_events - last)
            published = time.perf_counter()
            await publish(js, orders(more, start, seed=10**7))
            publish_seconds = time.perf_counter() - published
            total = await last_sequence(js)
            store, database = await open_store(workdir / "rebuild.db")
            started = time.perf_counter()
            result = await rebuild(
                store, client, "reporting", batch_size=1000, workers=fleet(args, server, database)
            )
            rebuild_seconds = time.perf_counter() - started
            print(f"rebuild: {result.events:,} events in {rebuild_seconds:.1f} s", flush=True)
            queries = await queries_p99(
                store, args.queries, Period(date(2026, 11, 1), date(2026, 12, 1))
            )
            print(f"query: {queries}", flush=True)
            orders_count = len((await store.facts(TENANT))[0])
            await close_store(database)
            await client.close()
            lat = await latency(server.url, workdir, args.rate, args.latency_seconds)
            print(f"latency: {lat}", flush=True)
        finally:
            server.stop()
    return {
        "machine": machine(),
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "throughput": {
            "events": last,
            "raw_fetch_ack_events_per_s": round(raw),
            "projection_events_per_s": round(projection),
            "ratio": round(projection / raw, 3),
        },
        "rebuild": {
            "events": result.events,
            "stream_events": total,
            "orders": orders_count,
            "seconds": round(rebuild_seconds, 1),
            "events_per_s": round(result.events / rebuild_seconds),
            "publish_seconds": round(publish_seconds, 1),
        },
        "kpi_queries": {
            name: {k: round(v, 1) for k, v in times.items()} for name, times in queries.items()
        },
        "published_to_kpi": lat,
    }


def fleet(args: argparse.Namespace, server: NatsServer, database: Database) -> Workers | None:
    """The rebuild's worker processes `--workers` asks for (None: in this process)."""
    if args.workers[0] <= 1:
        return None
    url = database.engine.url.render_as_string(hide_password=False)
    return Workers(args.workers[0], server.url, url)


def cpu_seconds() -> float:
    """CPU seconds of this process and its children that have ended (the workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def database_server(engine: AsyncEngine) -> int | None:
    """The PostgreSQL server's process when it runs on this machine (its tree's CPU
    counts every backend the rebuild's workers opened); None for SQLite (in the
    workers' own CPU) or a server elsewhere."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    try:
        return parent_of(int(backend))
    except ProcessLookupError:
        return None


async def rebuild_only(args: argparse.Namespace) -> dict[str, Any]:
    """Publish `--rebuild-events` events once and time their rebuild alone, on each of
    `--backends` with each of `--workers`, one after the other."""
    configure_logging("bench", "WARNING")
    heap.settle()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as tmp:
        server, client, js, start = await projects_on_a_bus(Path(tmp))
        try:
            published = time.perf_counter()
            await publish(js, orders(args.rebuild_events, start))
            publish_seconds = time.perf_counter() - published
            assert server.process is not None  # started above
            nats_pid = server.process.pid
            for backend in args.backends:
                for workers in args.workers:

                    async def timed(
                        url: str, workers: int = workers, backend: str = backend
                    ) -> dict[str, Any]:
                        engine = create_engine(url)
                        await upgrade(engine)
                        database = Database(engine)
                        store = ReadModelStore(database, SystemClock())
                        before = calibration()
                        postmaster = await database_server(engine)
                        database_cpu = tree_cpu_seconds(postmaster) if postmaster else 0.0
                        nats_cpu = tree_cpu_seconds(nats_pid)
                        cpu, started = cpu_seconds(), time.perf_counter()
                        fleet = Workers(workers, server.url, url) if workers > 1 else None
                        result = await rebuild(
                            store, client, "reporting", batch_size=1000, workers=fleet
                        )
                        seconds = time.perf_counter() - started
                        cpu = cpu_seconds() - cpu
                        nats_cpu = tree_cpu_seconds(nats_pid) - nats_cpu
                        if postmaster:
                            database_cpu = tree_cpu_seconds(postmaster) - database_cpu
                        orders_count = len((await store.facts(TENANT))[0])
                        await close_store(database)
                        return {
                            "backend": backend,
                            "workers": workers,
                            "events": result.events,
                            "partitions": result.partitions,
                            "orders": orders_count,
                            "seconds": round(seconds, 1),
                            "events_per_s": round(result.events / seconds),
                            "cpu_seconds": round(cpu, 1),
                            "nats_server_cpu_seconds": round(nats_cpu, 1),
                            "database_server_cpu_seconds": (
                                round(database_cpu, 1) if postmaster else None
                            ),
                            "machine_before": before,
                            "machine_after": calibration(),
                        }

                    postgres = args.postgres if backend == "postgresql" else None
                    runs.append(await on_fresh_database(timed, postgres, "rebuild"))
                    print(json.dumps(runs[-1]), flush=True)
            await client.close()
        finally:
            server.stop()
    return {
        "machine": machine(),
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "publish_seconds": round(publish_seconds, 1),
        "runs": runs,
    }


def main() -> None:
    """Parse arguments, run, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--throughput-events", type=int, default=100_000)
    parser.add_argument("--rebuild-events", type=int, default=1_000_000)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--workers",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[os.cpu_count() or 1],
        help="the rebuild's worker processes; with --only-rebuild a list: 1,2",
    )
    parser.add_argument("--only-rebuild", action="store_true")
    parser.add_argument(
        "--backends", type=lambda v: v.split(","), default=["sqlite"], help="sqlite,postgresql"
    )
    parser.add_argument(
        "--postgres", default=None, help="PostgreSQL server URL (a database of its own is made)"
    )
    args = parser.parse_args()
    if "postgresql" in args.backends and not args.postgres:
        parser.error("--backends postgresql needs --postgres URL")
    if args.only_rebuild:
        write_results(asyncio.run(rebuild_only(args)), "reporting-rebuild.json")
        return
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
