"""What each part of a report costs on its own, in CPU: issue 18's aim of 1.2 ms a report on
SQLite, against the parts the report cannot do without.

Usage: python -m bench.report_parts [--backend sqlite|postgresql|both] [--reports 3000]
       [--rounds 3] [--shapes today,one-event] [--postgres ADMIN_URL]

Each round, on a fresh database, runs the parts of `--reports` reports (the body
`bench/ingest.py` posts, each with its own `Idempotency-Key`) one after the other in this
process, with nothing else running in it, and reads the process's CPU
(`time.process_time`: every thread, so SQLite's work in its worker thread counts):

1. **deciding**: `report_work_order` as the API calls it (the decision, its SLA clocks and
   timer rows, the sealing of the reporter's data), on the memory event store: no SQL, no
   I/O. The CPU of the store's appends is left out (their planning, numbering and views
   run again in the storing part), and a fresh store every 50 reports keeps its look-ups
   (which scan what it holds) small. No staff directory: the bench's project has no
   dispatch rule, so no report is offered to anyone;
2. **storing**: the appends the deciding part made, through dispatch's `SqlEventStore`,
   32 in flight as the API's requests are, so they commit in groups (events, outbox,
   idempotency keys, listing, timer table, residents' index);
3. **relaying**: dispatch's `OutboxRelay` publishing that outbox to a `nats-server` of its
   own, in its default rounds of 500, each event acknowledged by JetStream and marked.

The nats-server's CPU and PostgreSQL's server CPU are read from /proc and given apart.
What the parts leave out: the HTTP request and its body's validation (`bench.ingest`'s
`floor` peer measures that), the answer's access-log entry, the SLA scheduler, and the
cost of running the parts side by side on one event loop. So their sum is below what one
dispatch process spends a report: a floor under the design, not an estimate of it.
`--shapes` adds a what-if beside a report as it is written today (`today`): `one-event`
stores and relays each decided report as its `workorder.reported` event and its first SLA
timer row only, the rest of its append unchanged, as if the SLA clocks travelled inside
the report's event and one timer row stood for them. That is not the event contract
(each clock's start is an event integrators read, and each deadline its own timer); it
measures what a contract with fewer events and rows would save. Deciding is the same in
both: the clocks are computed either way. The shapes alternate within each round.
Results: a table of medians (a column a backend and shape) and
bench/results/report-parts.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.ingest import DEFAULT_POSTGRES, REPORT, backends, backends_cpu, turn_order
from bench.proc_cpu import grown, tree_cpu_seconds
from bench.support import (
    BENCH_MASTER_KEY,
    calibration,
    in_process,
    machine,
    on_fresh_database,
    write_results,
)
from services.dispatch.adapters.memory_event_store import MemoryEventStore, MemoryProjectDirectory
from services.dispatch.adapters.relay import OutboxRelay
from services.dispatch.domain.commands import RegisterProject, ReportWorkOrder
from services.dispatch.service_layer.context import CommandContext
from services.dispatch.service_layer.personal_data import Privacy
from services.dispatch.service_layer.ports import (
    REPORTED,
    AppendBatch,
    AppendResult,
    EventStore,
    StreamTimers,
)
from services.dispatch.service_layer.projects import ProjectDirectory, change_project
from services.dispatch.service_layer.sla import DefaultSlaPolicies
from services.dispatch.service_layer.work_orders import report_work_order
from shared import heap
from shared.auth import Principal, Role
from shared.clock import SystemClock
from shared.events.project import ProjectDetails
from shared.logging import configure_logging
from shared.nats import connect, ensure_streams
from wo.processes import NatsServer

TENANT = "bench"
PROJECT = str(REPORT["project"])
STORE_EVERY = 50
"""Reports a memory store takes before the deciding part starts a fresh one."""
IN_FLIGHT = 32
"""Appends in flight in the storing part: the connections `bench/ingest.py` loads with."""
WARMUP_REPORTS = 200
"""Reports through every part before the measured ones."""
DRAIN_SECONDS = 120.0
AIM_MS = 1.2
"""Issue 18's CPU a report on SQLite, server process, relay and scheduler included."""
HQ = Principal(subject="hq", role=Role.HQ_QUALITY, tenant=TENANT, projects=frozenset({"*"}))
RECEPTION = Principal(
    subject="cs-bench", role=Role.CUSTOMER_SERVICE, tenant=TENANT, projects=frozenset({"*"})
)


class _Keeping(MemoryEventStore):
    """The memory event store, keeping every batch appended once `kept` is set, and the
    CPU its appends took (their planning is the storing part's, where it runs again)."""

    kept: list[AppendBatch] | None = None
    appending: float = 0.0

    async def append(self, batch: AppendBatch) -> AppendResult:
        if self.kept is not None:
            self.kept.append(batch)
        began = time.process_time()
        try:
            return await super().append(batch)
        finally:
            self.appending += time.process_time() - began


async def register(store: EventStore, projects: ProjectDirectory, clock: SystemClock) -> None:
    """The bench's project, registered as headquarters would."""
    command = RegisterProject(project=PROJECT, details=ProjectDetails(name="bench", households=1))
    await change_project(store, projects, PROJECT, command, CommandContext(HQ, clock.now(), "b"))


def command_context(clock: SystemClock) -> CommandContext:
    """A receptionist's report, with a key of its own as a retrying client sends it."""
    return CommandContext(RECEPTION, clock.now(), "bench", str(uuid.uuid4()))


async def deciding(reports: int, clock: SystemClock) -> tuple[float, list[AppendBatch]]:
    """CPU seconds of `reports` reports decided on memory stores, and their appends."""
    privacy = Privacy.in_memory(BENCH_MASTER_KEY)
    policies = DefaultSlaPolicies()
    command = ReportWorkOrder.model_validate(REPORT)
    kept: list[AppendBatch] = []
    cpu = 0.0
    for start in range(0, reports, STORE_EVERY):
        store = _Keeping()
        projects = MemoryProjectDirectory(store)
        await register(store, projects, clock)
        store.kept, store.appending = kept, 0.0
        began = time.process_time()
        for _ in range(min(STORE_EVERY, reports - start)):
            await report_work_order(
                store, projects, policies, command, command_context(clock), privacy=privacy
            )
        cpu += time.process_time() - began - store.appending
    return cpu, kept


async def storing(store: EventStore, batches: list[AppendBatch]) -> None:
    """Every batch appended, `IN_FLIGHT` at a time."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(batch: AppendBatch) -> None:
        async with gate:
            await store.append(batch)

    await asyncio.gather(*(one(b) for b in batches))


async def relaying(relay: OutboxRelay, backlog: int) -> int:
    """Publish the outbox until `backlog` events are out (at most `DRAIN_SECONDS`)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    published = 0
    while published < backlog and time.monotonic() < deadline:
        published += await relay.publish_pending()
    return published


def as_one_event(batch: AppendBatch) -> AppendBatch:
    """A report's append cut to its `workorder.reported` event and first SLA timer row
    (the `one-event` shape); any other append as it is."""
    if not batch.events or batch.events[0].type_name != REPORTED:
        return batch
    inline = tuple(
        StreamTimers(value.rows[:1]) if isinstance(value, StreamTimers) else value
        for value in batch.inline
    )
    return replace(batch, events=batch.events[:1], inline=inline)


SHAPES: dict[str, Callable[[AppendBatch], AppendBatch]] = {
    "today": lambda batch: batch,
    "one-event": as_one_event,
}
"""What each `--shapes` name does to a decided report's append before it is stored."""


async def one_round(
    database_url: str, reports: int, workdir: Path, shape: str = "today"
) -> dict[str, Any]:
    """The three parts of `reports` reports on a fresh database and nats-server, their
    appends in `shape`: CPU ms a report of this process, and of the servers apart."""
    parts = await in_process(database_url)
    await register(parts.store, parts.projects, parts.clock)
    postgres = database_url if database_url.startswith("postgresql") else None
    server = NatsServer(workdir / f"nats-{uuid.uuid4().hex[:8]}")
    server.start()
    client = await connect(server.url, "bench-relay")
    try:
        js = client.jetstream()
        await ensure_streams(js)
        relay = OutboxRelay(parts.engine, js, clock=parts.clock)
        # A first pass through every part, not counted: the statements compiled and
        # cached, the stream created, the key ring's and project's caches filled.
        shaped = SHAPES[shape]
        _, warming = await deciding(WARMUP_REPORTS, parts.clock)
        await storing(parts.store, [shaped(b) for b in warming])
        await relaying(relay, await parts.store.outbox_backlog())
        heap.settle()
        decided, decided_batches = await deciding(reports, parts.clock)
        batches = [shaped(b) for b in decided_batches]

        database = await backends_cpu(postgres)
        began = time.process_time()
        await storing(parts.store, batches)
        stored = time.process_time() - began
        stored_server = grown(database, await backends_cpu(postgres))

        backlog = await parts.store.outbox_backlog()
        assert server.process is not None  # started above
        nats, database = tree_cpu_seconds(server.process.pid), await backends_cpu(postgres)
        began = time.process_time()
        published = await relaying(relay, backlog)
        relayed = time.process_time() - began
        relayed_nats = tree_cpu_seconds(server.process.pid) - nats
        relayed_server = grown(database, await backends_cpu(postgres))
    finally:
        await client.close()
        server.stop()
        await parts.store.close()
        await parts.engine.dispose()
    if published < backlog:
        raise SystemExit(f"the relay published {published} of {backlog} events in time")

    def per_report(seconds: float) -> float:
        return round(1000 * seconds / reports, 3)

    return {
        "reports": reports,
        "events": published,
        "deciding_ms": per_report(decided),
        "storing_ms": per_report(stored),
        "storing_database_server_ms": per_report(stored_server) if postgres else None,
        "relaying_ms": per_report(relayed),
        "relaying_nats_server_ms": per_report(relayed_nats),
        "relaying_database_server_ms": per_report(relayed_server) if postgres else None,
        "sum_ms": per_report(decided + stored + relayed),
    }


FIGURES = (
    ("deciding_ms", "deciding (memory store, no I/O)"),
    ("storing_ms", "storing (group commit)"),
    ("relaying_ms", "relaying (outbox to JetStream)"),
    ("sum_ms", "the three parts, this process"),
    ("storing_database_server_ms", "PostgreSQL server, storing"),
    ("relaying_database_server_ms", "PostgreSQL server, relaying"),
    ("relaying_nats_server_ms", "nats-server, relaying"),
)


def shapes(text: str) -> tuple[str, ...]:
    """`--shapes`: some of `SHAPES`, comma-separated, each once."""
    named = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in named if name not in SHAPES]
    if unknown or not named:
        raise argparse.ArgumentTypeError(f"shapes are some of {', '.join(SHAPES)}: not {text!r}")
    return named


def column_of(backend: str, shape: str) -> str:
    """A results column: the backend for today's shape (as before shapes), else both."""
    return backend if shape == "today" else f"{backend}, {shape}"


def medians(rounds: list[dict[str, Any]]) -> dict[str, float | None]:
    """Each figure's median over the rounds (None where a backend has none)."""
    found: dict[str, float | None] = {}
    for key, _ in FIGURES:
        values = [r[key] for r in rounds if r[key] is not None]
        found[key] = round(statistics.median(values), 3) if values else None
    return found


def table(summary: dict[str, dict[str, float | None]]) -> str:
    """The medians as a table: CPU ms a report, a column a backend."""
    names = list(summary)
    lines = [
        "| CPU ms a report (median) | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, label in FIGURES:
        cells = [summary[name][key] for name in names]
        if any(cell is not None for cell in cells):
            shown = " | ".join("—" if c is None else f"{c:.3f}" for c in cells)
            lines.append(f"| {label} | {shown} |")
    lines.append(f"| aim, the whole report on SQLite | {AIM_MS:.3f} |" + " |" * (len(names) - 1))
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--reports", type=int, default=3000, choices=range(100, 20001), metavar="100..20000"
    )
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11), metavar="1..10")
    parser.add_argument(
        "--shapes",
        type=shapes,
        default=("today",),
        help="some of today,one-event (comma-separated)",
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL admin URL")
    args = parser.parse_args()  # fmt: skip
    configure_logging("bench", "WARNING")
    results: dict[str, Any] = {
        "machine": machine(),
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reports": args.reports,
        "shapes": list(args.shapes),
        "calibration_before": calibration(),
        "rounds": {},
        "medians": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as tmp:
        for backend in backends(args.backend):
            postgres = args.postgres if backend == "postgresql" else None
            rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in args.shapes}
            for turn in range(args.rounds):
                # The shapes take turns going first: the host's drift falls on each.
                for shape in turn_order(turn, args.shapes):
                    found = await on_fresh_database(
                        partial(one_round, reports=args.reports, workdir=Path(tmp), shape=shape),
                        postgres,
                        "parts",
                    )
                    print(json.dumps({"backend": backend, "shape": shape, **found}), flush=True)
                    rounds[shape].append(found)
            for shape, found_rounds in rounds.items():
                column = column_of(backend, shape)
                results["rounds"][column] = found_rounds
                results["medians"][column] = medians(found_rounds)
    results["calibration_after"] = calibration()
    print(table(results["medians"]), flush=True)
    write_results(results, "report-parts.json")


if __name__ == "__main__":
    asyncio.run(main())
