"""What protecting residents' data costs: reports appended and their events projected,
with and without the protection, in the same run.

Usage: python -m bench.privacy_cost [--reports 1500] [--concurrency 32] [--rounds 3]
       [--residents 200] [--postgres ADMIN_URL]

Each turn starts on a fresh database (SQLite, and PostgreSQL with `--postgres`):

1. **appended**: `report_work_order`, as dispatch's API calls it (idempotency, SLA
   clocks, timers, listing, outbox, group commit), `--reports` times, `--concurrency` at
   a time. *Protected* is dispatch as it runs: each report sealed under its resident's
   key (a new resident's key made first) and indexed by reference. *Unprotected* is the
   same path with the sealing step passing the report through in clear, as dispatch
   stored reports before sealing. Two mixes of callers: every report a new resident (a
   key made per report: the worst case), and returning residents (`--residents` of them,
   in turn: keys cached after their first report);
2. **projected**: the turn's outbox, published to a fresh `EVENTS` stream as the relay
   publishes it, folded by reporting's projector into a fresh read model (events/s).

Protected and unprotected turns alternate, round after round. Results: a table of
medians on stdout and bench/results/privacy-cost-<backend>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import select

from bench.reporting import BATCH, close_store, open_store, projection_rate
from bench.support import in_process, machine, write_results
from services.dispatch.adapters.tables import outbox
from services.dispatch.domain.commands import RegisterProject, ReportWorkOrder
from services.dispatch.service_layer import work_orders
from services.dispatch.service_layer.context import CommandContext
from services.dispatch.service_layer.projects import change_project
from services.dispatch.service_layer.work_orders import report_work_order
from shared import heap
from shared.auth import Principal, Role
from shared.events.base import EventData
from shared.events.project import ProjectDetails
from shared.logging import configure_logging
from shared.nats import connect, ensure_streams
from tests.conftest import FreshPostgresDatabase
from wo.processes import NatsServer

TENANT = "bench"
PROJECT = "p00"
MIXES = ("new residents", "returning residents")


async def _in_clear(
    decided: list[EventData], tenant: str, work_order_id: str, privacy: object
) -> tuple[list[EventData], None]:
    """The sealing step left out: the report stored as it came (no reference, no index)."""
    return decided, None


@contextlib.contextmanager
def protection(on: bool) -> Iterator[None]:
    """dispatch's report path with its sealing step, or with it passing reports through."""
    if on:
        yield
        return
    with mock.patch.object(work_orders, "sealed_reported", _in_clear):
        yield


def _report(n: int, mix: str, residents: int) -> ReportWorkOrder:
    caller = n if mix == MIXES[0] else n % residents
    return ReportWorkOrder.model_validate(
        {
            "project": PROJECT,
            "kind": "repair",
            "category": "plumbing",
            "location": {"building": "b1", "unit": f"{1 + caller % 30}-{101 + caller % 2000}"},
            "reporter": {"name": "欧阳娜娜", "phone": f"139{caller:08d}"},
            "channel": "phone",
            "description": "厨房水管漏水",
        }
    )


async def appended(database_url: str, args: argparse.Namespace, mix: str) -> dict[str, Any]:
    """Reports/s and CPU per report through the report path, on a fresh database."""
    parts = await in_process(database_url)
    hq = Principal(subject="hq", role=Role.HQ_QUALITY, tenant=TENANT, projects=frozenset({"*"}))
    await change_project(
        parts.store,
        parts.projects,
        PROJECT,
        RegisterProject(project=PROJECT, details=ProjectDetails(name=PROJECT, households=3000)),
        CommandContext(hq, parts.clock.now(), "bench"),
    )
    cs = Principal(
        subject="cs-bench", role=Role.CUSTOMER_SERVICE, tenant=TENANT, projects=frozenset({"*"})
    )
    commands = [_report(n, mix, args.residents) for n in range(args.reports)]
    gate = asyncio.Semaphore(args.concurrency)

    async def one(command: ReportWorkOrder) -> None:
        async with gate:
            await report_work_order(
                parts.store,
                parts.projects,
                parts.policies,
                command,
                CommandContext(cs, parts.clock.now(), "bench"),
                privacy=parts.privacy,
            )

    heap.settle()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(c) for c in commands))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    async with parts.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.subject, outbox.c.payload))).all()
    await parts.store.close()
    await parts.engine.dispose()
    return {
        "reports_per_s": args.reports / wall,
        "cpu_ms_per_report": cpu * 1000 / args.reports,
        "events": len(rows),
        "events_per_s": len(rows) / wall,
        "bytes_per_event": sum(len(r.payload) for r in rows) / max(len(rows), 1),
        "outbox": [(r.subject, bytes(r.payload)) for r in rows],
    }


async def projected(outbox_rows: list[tuple[str, bytes]], workdir: Path) -> float:
    """Events/s of reporting's projector over the turn's events, on a fresh stream."""
    server = NatsServer(workdir / "jetstream")
    server.start(log_file=workdir / "nats.log")
    try:
        client = await connect(server.url, "bench")
        js = client.jetstream()
        await ensure_streams(js)
        for start in range(0, len(outbox_rows), BATCH):
            chunk = outbox_rows[start : start + BATCH]
            await asyncio.gather(*(js.publish(subject, payload) for subject, payload in chunk))
        store, database = await open_store(workdir / "reporting.db")
        rate = await projection_rate(js, store, len(outbox_rows))
        await close_store(database)
        await client.close()
        return rate
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def fresh(backend: str, admin_url: str | None, workdir: Path) -> AsyncIterator[str]:
    """A fresh dispatch database of `backend`, dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"dispatch-{time.monotonic_ns()}.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    assert admin_url is not None
    os.environ["TEST_DATABASE_URL"] = admin_url
    async with FreshPostgresDatabase() as url:
        yield url


async def run(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    """Every round: for each mix, an unprotected then a protected turn (the order swapped
    every other round)."""
    turns: dict[str, dict[str, list[dict[str, float]]]] = {
        mix: {"unprotected": [], "protected": []} for mix in MIXES
    }
    with tempfile.TemporaryDirectory(prefix="bench-privacy-cost-") as tmp:
        workdir = Path(tmp)
        for round_ in range(args.rounds):
            for mix in MIXES:
                order = [False, True] if round_ % 2 == 0 else [True, False]
                for on in order:
                    async with fresh(backend, args.postgres, workdir) as url:
                        with protection(on):
                            result = await appended(url, args, mix)
                    turn_dir = workdir / f"turn-{round_}-{MIXES.index(mix)}-{int(on)}"
                    turn_dir.mkdir()
                    result["projected_events_per_s"] = await projected(
                        result.pop("outbox"), turn_dir
                    )
                    name = "protected" if on else "unprotected"
                    turns[mix][name].append(result)
                    print(
                        f"{backend} round {round_ + 1} {mix:19} {name:11} "
                        f"{result['reports_per_s']:7.0f} reports/s "
                        f"{result['cpu_ms_per_report']:6.2f} ms CPU/report "
                        f"{result['events_per_s']:7.0f} events/s appended "
                        f"{result['projected_events_per_s']:7.0f} events/s projected",
                        flush=True,
                    )
    return {
        mix: {
            name: {
                key: round(statistics.median(t[key] for t in results), 2)
                for key in results[0]
                if isinstance(results[0][key], int | float)
            }
            for name, results in by_protection.items()
        }
        for mix, by_protection in turns.items()
    }


def table(backend: str, medians: dict[str, Any]) -> str:
    """The medians as a table, with protected/unprotected ratios."""
    lines = [
        f"{backend}: medians",
        f"{'mix':20} {'':12} {'reports/s':>10} {'CPU ms':>7} {'events/s':>9} "
        f"{'projected/s':>12} {'B/event':>8}",
    ]
    for mix, by_protection in medians.items():
        for name, m in by_protection.items():
            lines.append(
                f"{mix:20} {name:12} {m['reports_per_s']:10.0f} {m['cpu_ms_per_report']:7.2f} "
                f"{m['events_per_s']:9.0f} {m['projected_events_per_s']:12.0f} "
                f"{m['bytes_per_event']:8.0f}"
            )
        on, off = by_protection["protected"], by_protection["unprotected"]
        lines.append(
            f"{mix:20} {'ratio':12} {on['reports_per_s'] / off['reports_per_s']:10.2f} "
            f"{on['cpu_ms_per_report'] / off['cpu_ms_per_report']:7.2f} "
            f"{on['events_per_s'] / off['events_per_s']:9.2f} "
            f"{on['projected_events_per_s'] / off['projected_events_per_s']:12.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run each backend, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument(
        "--postgres",
        default=None,
        help="an admin URL (postgresql+asyncpg://postgres@127.0.0.1:5432/postgres) to run "
        "on PostgreSQL too",
    )
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for backend in backends:
        medians = asyncio.run(run(args, backend))
        print(table(backend, medians), flush=True)
        write_results(
            {
                "machine": machine(),
                "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "reports": args.reports,
                "concurrency": args.concurrency,
                "rounds": args.rounds,
                "medians": medians,
            },
            f"privacy-cost-{backend}.json",
        )


if __name__ == "__main__":
    main()
