"""Assignment benchmark: time from `reported` to `offered` and to `assigned`.

Usage: python -m bench.assign [--rate 200] [--seconds 20] [--accept] [--postgres ADMIN_URL]

In one process, as dispatch runs them (command handlers, event store with group commit,
SLA engine, staff directory in SQL, timer scheduler on the wall clock), it:

1. registers 20 projects with 25 technicians each (500 staff, all on duty, plumbing),
   a 24×7 roster per project and an `auto` rule for plumbing (load limit 50, so the
   run measures dispatch and not the queue);
2. reports `--rate` plumbing repairs per second for `--seconds`, spread over the
   projects, through the report handler: the offer is decided and appended with the
   report, so "reported → offered" is the time until that append has committed;
3. with `--accept`, has the offered technician accept at once, through the accept-offer
   handler, so "reported → assigned" adds the acceptance's own round trip (no human
   delay); the process then runs two commands per report.

`--without-rules` is the control: the same reports with no dispatch rule, so the cost
of assignment is the difference. Every loop is bounded in count and time. Results go to stdout and
bench/results/assign-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

from bench.support import (
    in_process,
    machine,
    on_fresh_database,
    paced,
    percentile,
    write_results,
)
from services.dispatch.adapters.sla_scheduler import SlaScheduler
from services.dispatch.adapters.staff_directory import SqlStaffDirectory
from services.dispatch.domain.assignment import (
    Availability,
    DispatchRule,
    Roster,
    Shift,
    StaffRecord,
    TeamRecord,
)
from services.dispatch.domain.commands import AcceptOffer, RegisterProject, ReportWorkOrder
from services.dispatch.service_layer.context import CommandContext
from services.dispatch.service_layer.projects import change_project
from services.dispatch.service_layer.work_orders import execute, report_work_order
from shared import heap
from shared.auth import Principal, Role
from shared.events.project import ProjectDetails
from shared.events.workorder import DispatchMode
from shared.logging import configure_logging
from tests.integration.dispatch.api_support import report_body

TENANT = "bench"
PROJECTS = 20
STAFF_PER_PROJECT = 25


async def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    parts = await in_process(database_url)
    engine, clock, store, policies, projects = (
        parts.engine,
        parts.clock,
        parts.store,
        parts.policies,
        parts.projects,
    )
    staff = SqlStaffDirectory(engine, clock.now)
    hq = Principal(subject="hq", role=Role.HQ_QUALITY, tenant=TENANT, projects=frozenset({"*"}))
    names = [f"p{n:02d}" for n in range(PROJECTS)]
    team = TeamRecord(name="维修班", trades=frozenset({"plumbing"}), projects=frozenset(names))
    await staff.put_team(TENANT, "maintenance", team)
    for project in names:
        details = ProjectDetails(name=project, households=1000)
        await change_project(
            store,
            projects,
            project,
            RegisterProject(project=project, details=details),
            CommandContext(hq, clock.now(), "bench"),
        )
        members = [f"{project}-t{n:02d}" for n in range(STAFF_PER_PROJECT)]
        for member in members:
            record = StaffRecord(
                name=member,
                team="maintenance",
                trades=frozenset({"plumbing"}),
                projects=frozenset({project}),
            )
            await staff.put_staff(TENANT, member, record)
            await staff.set_availability(TENANT, member, Availability.ON_DUTY)
        roster = Roster(shifts=(Shift(name="24x7", team="maintenance", members=tuple(members)),))
        await staff.put_roster(TENANT, project, roster)
        if not args.without_rules:
            rule = DispatchRule(mode=DispatchMode.AUTO, trade="plumbing", load_limit=50)
            await staff.put_rule(TENANT, project, "plumbing", rule)

    scheduler = SlaScheduler(engine, store, policies, clock, staff=staff)
    store.on_timers(scheduler.timers_written)
    scheduling = asyncio.create_task(scheduler.run())
    cs = Principal(
        subject="cs-bench", role=Role.CUSTOMER_SERVICE, tenant=TENANT, projects=frozenset({"*"})
    )
    commands = {
        p: ReportWorkOrder.model_validate(report_body(project=p, category="plumbing"))
        for p in names
    }
    rng = random.Random(4)
    to_offer: list[float] = []
    # The offer latencies of reports started after the first 5 s, when every project's
    # setup is loaded and the pools are warm: tells a warm-up tail from a steady one.
    warm_offer: list[float] = []
    load_began = time.perf_counter()
    to_assign: list[float] = []
    unoffered = 0

    async def one(project: str) -> bool:
        nonlocal unoffered
        started = time.perf_counter()
        outcome = await report_work_order(
            store,
            projects,
            policies,
            commands[project],
            CommandContext(cs, clock.now(), "bench"),
            staff=staff,
            privacy=parts.privacy,
        )
        to_offer.append(time.perf_counter() - started)
        if started - load_began > 5.0:
            warm_offer.append(to_offer[-1])
        offered = outcome.body["offered_to"]
        if not offered:
            unoffered += 1
            return False
        if not args.accept:
            return True
        tech = Principal(
            subject=offered[0], role=Role.TECHNICIAN, tenant=TENANT, projects=frozenset({project})
        )
        await execute(
            store,
            policies,
            outcome.body["id"],
            AcceptOffer(),
            CommandContext(tech, clock.now(), "bench"),
            staff=staff,
        )
        to_assign.append(time.perf_counter() - started)
        return True

    # As `python -m services.dispatch` does once its code is loaded (shared.heap).
    heap.settle()
    cpu_began = time.process_time()
    done, achieved = await paced(args.rate, args.seconds, lambda: one(rng.choice(names)))
    # This process's CPU per report: steadier than latency on a shared machine, where
    # other work on the cores shows in the tail but not here.
    cpu_per_report = (time.process_time() - cpu_began) / max(len(done), 1)
    n = len(done)
    scheduling.cancel()
    await asyncio.gather(scheduling, return_exceptions=True)
    await store.close()
    staff.close()
    await engine.dispose()
    return {
        "machine": machine(),
        "backend": engine.dialect.name,
        "staff": PROJECTS * STAFF_PER_PROJECT,
        "projects": PROJECTS,
        "reports_per_s_target": args.rate,
        "reports_per_s_achieved": round(achieved, 1),
        "reports": n,
        "reports_without_offer": unoffered,
        "accepting": args.accept,
        "dispatch_rules": not args.without_rules,
        "cpu_ms_per_report": round(cpu_per_report * 1000, 3),
        "reported_to_offered_p50_ms": round(percentile(to_offer, 0.5) * 1000, 1),
        "reported_to_offered_p99_ms": round(percentile(to_offer, 0.99) * 1000, 1),
        "reported_to_offered_p99_ms_after_5s": round(percentile(warm_offer, 0.99) * 1000, 1),
        "reported_to_assigned_p50_ms": round(percentile(to_assign, 0.5) * 1000, 1),
        "reported_to_assigned_p99_ms": round(percentile(to_assign, 0.99) * 1000, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0, help="repairs reported per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--accept", action="store_true", help="the technician accepts at once")
    parser.add_argument(
        "--without-rules",
        action="store_true",
        help="control run: no dispatch rule, so reports are not dispatched (the baseline)",
    )
    parser.add_argument(
        "--postgres", help="PostgreSQL admin URL; a fresh database is made next to it"
    )
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    results = await on_fresh_database(lambda url: run(args, url), args.postgres, "assign")
    accepting = "-accept" if args.accept else "-baseline" if args.without_rules else ""
    write_results(results, f"assign-{results['backend']}-{int(args.rate)}per-s{accepting}.json")


if __name__ == "__main__":
    asyncio.run(main())
