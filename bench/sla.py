"""SLA benchmark: timer lateness with 100,000 open clocks and 500 new work orders per second.

Usage: python -m bench.sla [--open 100000] [--rate 500] [--seconds 30] [--postgres ADMIN_URL]

In one process, as dispatch runs them (event store with group commit, SLA engine,
timer table, scheduler on the wall clock), it:

1. preloads `--open` suggestions (each starts a 2-day feedback clock and a 7-day
   progress clock, so they are open clocks whose timers stay in the table);
2. starts the scheduler, then reports `--rate` repairs per second for `--seconds`
   through the command handler (each starts a 3-minute arrival clock: warnings at
   50 % and 80 %, an escalation at 50 %, the breach at 3 min and escalations after);
3. waits until every timer of those repairs due by then has fired, and reads the
   lateness of each from its event: `detected_at` minus the instant it was due.

Memory is the process's resident set size after the preload and at the end. Every
loop is bounded in count and time. Results go to stdout and bench/results/sla-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bench.support import (
    in_process,
    machine,
    on_fresh_database,
    paced,
    percentile,
    write_results,
)
from services.dispatch.adapters import tables as t
from services.dispatch.adapters.sla_scheduler import SlaScheduler
from services.dispatch.domain.commands import RegisterProject, ReportWorkOrder
from services.dispatch.service_layer.context import CommandContext
from services.dispatch.service_layer.projects import change_project
from services.dispatch.service_layer.work_orders import report_work_order
from shared.auth import Principal, Role
from shared.events.project import ProjectDetails
from shared.logging import configure_logging
from tests.integration.dispatch.api_support import report_body

TENANT = "bench"
PROJECT = "bench-sla"
LATE_TYPES = {
    "workorder.sla_warning_raised": "scheduled_for",
    "workorder.sla_escalated": "scheduled_for",
    "workorder.sla_clock_breached": "due_at",
}


def rss_mib() -> float:
    """Resident set size of this process now, in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    parts = await in_process(database_url)
    engine, clock, store, policies, projects = (
        parts.engine,
        parts.clock,
        parts.store,
        parts.policies,
        parts.projects,
    )
    staff = Principal(
        subject="cs-bench", role=Role.CUSTOMER_SERVICE, tenant=TENANT, projects=frozenset({"*"})
    )
    hq = Principal(subject="hq", role=Role.HQ_QUALITY, tenant=TENANT, projects=frozenset({"*"}))
    await change_project(
        store,
        projects,
        PROJECT,
        RegisterProject(project=PROJECT, details=ProjectDetails(name="bench", households=1000)),
        CommandContext(hq, clock.now(), "bench"),
    )
    suggestion = ReportWorkOrder.model_validate(report_body(project=PROJECT, kind="suggestion"))
    repair = ReportWorkOrder.model_validate(report_body(project=PROJECT, kind="repair"))

    async def report(command: ReportWorkOrder) -> str:
        ctx = CommandContext(staff, clock.now(), "bench")
        outcome = await report_work_order(
            store, projects, policies, command, ctx, privacy=parts.privacy
        )
        return str(outcome.body["id"])

    started = time.perf_counter()
    for start in range(0, args.open, 500):
        await asyncio.gather(*(report(suggestion) for _ in range(min(500, args.open - start))))
    preload_seconds = time.perf_counter() - started
    async with engine.connect() as conn:
        timers_preloaded = int(
            await conn.scalar(select(func.count()).select_from(t.sla_timers)) or 0
        )
    results: dict[str, Any] = {
        "machine": machine(),
        "backend": engine.dialect.name,
        "open_clocks": args.open * 2,
        "timers_in_table": timers_preloaded,
        "preload_seconds": round(preload_seconds, 1),
        "rss_mib_after_preload": rss_mib(),
    }
    print(json.dumps(results), flush=True)

    scheduler = SlaScheduler(engine, store, policies, clock)
    store.on_timers(scheduler.timers_written)
    scheduling = asyncio.create_task(scheduler.run())
    load_started = clock.now()
    repairs, achieved = await paced(args.rate, args.seconds, lambda: report(repair))
    # Every arrival timer of the last repair is due 3 min (+ ladder) after it; wait for
    # the breaches, bounded.
    last_breach = clock.now() + timedelta(minutes=3, seconds=5)
    while clock.now() < last_breach + timedelta(seconds=args.drain_grace):
        await asyncio.sleep(1.0)
        if clock.now() > last_breach and await _unfired(engine, last_breach) == 0:
            break
    scheduling.cancel()
    detections = await _lateness(engine, load_started)
    latenesses = [late for _, late in detections]
    await store.close()
    await engine.dispose()
    results.update(
        {
            "reports_per_s_target": args.rate,
            "reports_per_s_achieved": round(achieved, 1),
            "repairs": len(repairs),
            "timer_events": len(latenesses),
            "lateness_p50_ms": round(percentile(latenesses, 0.5) * 1000, 1),
            "lateness_p99_ms": round(percentile(latenesses, 0.99) * 1000, 1),
            "lateness_max_ms": round(max(latenesses, default=0.0) * 1000, 1),
            "lateness_p99_ms_per_10s": _p99_per_window(detections, load_started),
            "rss_mib_at_end": rss_mib(),
        }
    )
    return results


def _p99_per_window(
    detections: list[tuple[datetime, float]], start: datetime, window_s: int = 10
) -> dict[str, float]:
    """p99 lateness of the timers detected in each `window_s` seconds since `start`: shows
    whether lateness is steady, grows with the load, or comes in bursts."""
    windows: dict[int, list[float]] = {}
    for at, late in detections:
        windows.setdefault(int((at - start).total_seconds()) // window_s, []).append(late)
    return {
        f"{w * window_s}s": round(percentile(lates, 0.99) * 1000, 1)
        for w, lates in sorted(windows.items())
    }


async def _unfired(engine: Any, until: datetime) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count())
                .select_from(t.sla_timers)
                .where(t.sla_timers.c.fires_at <= until)
            )
            or 0
        )


async def _lateness(engine: Any, since: datetime) -> list[tuple[datetime, float]]:
    """(detection instant, detection minus due instant in seconds) of every timer event
    recorded since `since`."""
    c = t.events.c
    query = select(c.type_name, c.data).where(
        c.type_name.in_(list(LATE_TYPES)), c.recorded_at >= since
    )
    late: list[tuple[datetime, float]] = []
    async with engine.connect() as conn:
        for type_name, data in (await conn.execute(query)).all():
            scheduled = data.get(LATE_TYPES[type_name])
            detected = data.get("detected_at")
            if scheduled and detected:
                at = datetime.fromisoformat(detected)
                late.append((at, (at - datetime.fromisoformat(scheduled)).total_seconds()))
    return late


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--open", type=int, default=100_000, help="suggestions preloaded (2 clocks each)"
    )
    parser.add_argument("--rate", type=float, default=500.0, help="repairs reported per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--drain-grace", type=float, default=120.0, help="extra seconds to wait for late timers"
    )
    parser.add_argument(
        "--postgres", help="PostgreSQL admin URL; a fresh database is made next to it"
    )
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    results = await on_fresh_database(lambda url: run(args, url), args.postgres, "sla")
    write_results(results, f"sla-{results['backend']}-{int(args.rate)}per-s.json")


if __name__ == "__main__":
    asyncio.run(main())
