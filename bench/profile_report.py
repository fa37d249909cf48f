"""Where a report's time goes in dispatch: a py-spy profile and the SQL statements per report.

Usage: python -m bench.profile_report [--backend sqlite|postgresql|both] [--seconds 10]

Runs dispatch as `bench/ingest.py` does (relay and SLA scheduler on, its own nats-server,
one process, on loopback), with its SQL statements counted in-process
(`bench/statements.py`: SQLAlchemy's `before_cursor_execute` on every engine, and each
commit). After a warm-up, `wrk -t1 -c32` posts reports for `--seconds` while
`py-spy record --gil --function` samples the process; the turn ends once the relay has
published the outbox, so the relay's statements count too. Writes the profile to
var/profile-dispatch-<backend>.speedscope.json (open it at speedscope.app or in any
speedscope viewer) and prints the biggest frames by self time and by total time, a
report's parts (`PARTS`), with milliseconds per report, and the statements per report by
kind. The profiler pauses the
process for each sample, so throughput here is lower than bench/ingest.py's: compare
shares, not rates. PostgreSQL: a fresh database bench_ingest_profile at `--postgres`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.ingest import (
    DRAIN_SECONDS,
    backends,
    dispatch_server,
    drained,
    fresh_postgres,
    options,
    script_for,
)
from bench.proc_cpu import tree_cpu_seconds
from bench.speedscope import FrameTime, Part, by_package, frame_times, part_times
from bench.statements import per_report
from bench.support import calibration, machine
from bench.wrk import require_wrk, run_wrk
from shared.logging import configure_logging

VAR = Path(__file__).resolve().parent.parent / "var"
SAMPLE_RATE = 200
TOP = 10

PARTS = [
    Part("the request, from dispatch's outer middleware to the answer",
         ("/shared/http/middleware.py:RequestContext.__call__",)),
    Part("  deciding the report", ("/service_layer/work_orders.py:report_work_order",)),
    Part("    its SLA clocks' events and timers", ("/service_layer/sla.py:with_sla",)),
    Part("    sealing the reporter's data", ("/service_layer/personal_data.py:sealed_reported",)),
    Part("    the auto-dispatch decision", ("/service_layer/assignment.py:dispatch_after",)),
    Part("  FastAPI's dependency solving", ("/fastapi/dependencies/utils.py:solve_dependencies",)),
    Part("  the answer: disclosure and its access-log entry",
         ("/routes/disclosure.py:command_answer",)),
    Part("the group commit's transaction",
         ("/adapters/group_commit.py:GroupCommitter._write_group",
          "/adapters/group_commit.py:_write_together")),
    Part("the relay publishing the outbox", ("/shared/outbox.py:OutboxPublisher.run",)),
    Part("the NATS client's reading and writing (the relay's acknowledgements)",
         ("/nats/aio/client.py:Client._read_loop", "/nats/aio/client.py:Client._flusher",
          "/nats/aio/subscription.py:Subscription._wait_for_msgs")),
]  # fmt: skip
"""Where a report's time goes, by the parts of dispatch's design (indented: within the
part above). Each counts a sample once however many of its frames the stack holds."""


def py_spy() -> str:
    """The py-spy executable (the `bench` extra's, beside this Python, else on PATH)."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    return found


def start_py_spy(pid: int, seconds: int, out: Path, log: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling process `pid` for `seconds` (only while it holds the GIL, frames
    aggregated by function) into a speedscope file `out`."""
    with log.open("wb") as errors:
        return subprocess.Popen(
            [py_spy(), "record", "--pid", str(pid), "--gil", "--function",
             "--rate", str(SAMPLE_RATE), "--duration", str(seconds),
             "--format", "speedscope", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=errors,
        )  # fmt: skip


def snapshot(pid: int, counts: Path) -> dict[str, dict[str, int]]:
    """The statement counts of the process `pid` so far (it writes them on SIGUSR1)."""
    counts.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    for _ in range(100):
        if counts.exists():
            loaded: dict[str, dict[str, int]] = json.loads(counts.read_text())
            return loaded
        time.sleep(0.05)
    raise RuntimeError("dispatch did not write its statement counts")


async def database_url(backend: str, workdir: Path, admin_url: str) -> str:
    """A fresh database for the profiled dispatch."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'dispatch.db'}"
    return await fresh_postgres(admin_url, "bench_ingest_profile")


async def profile(backend: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Profile dispatch on `backend` under wrk; the profile's summary and statement counts."""
    url = await database_url(backend, workdir, args.postgres)
    counts = workdir / "statements.json"
    out = VAR / f"profile-dispatch-{backend}.speedscope.json"
    VAR.mkdir(exist_ok=True)
    async with dispatch_server(
        workdir, url, module="bench.counted", STATEMENT_COUNTS=str(counts)
    ) as server:
        if args.warmup:
            run_wrk(server.base_url, script_for(server, workdir, "warmup"), seconds=args.warmup)
            await drained(url, DRAIN_SECONDS)
        before = snapshot(server.pid, counts)
        cpu_before = tree_cpu_seconds(server.pid)
        spy = start_py_spy(server.pid, args.seconds, out, workdir / "py-spy.log")
        try:
            run = run_wrk(
                server.base_url, script_for(server, workdir, "load"), seconds=args.seconds
            )
            pending = await drained(url, DRAIN_SECONDS)
            spy.wait(args.seconds + 60)
        finally:
            if spy.poll() is None:
                spy.kill()
        after = snapshot(server.pid, counts)
        cpu = tree_cpu_seconds(server.pid) - cpu_before
    reports = run.succeeded
    document = json.loads(out.read_text())
    by_self, total = frame_times(document, SAMPLE_RATE)
    by_total, _ = frame_times(document, SAMPLE_RATE, inclusive=True)
    by_part, _ = part_times(document, SAMPLE_RATE, PARTS)

    def timed(frames: list[FrameTime], key: str) -> list[dict[str, Any]]:
        return [
            {
                key: f.frame,
                "share": round(f.share, 3),
                "ms_per_report": round(1000 * f.seconds / reports, 3),
            }
            for f in frames
        ]

    project = [f for f in by_total if "services/" in f.frame or "shared/" in f.frame]
    return {
        "backend": backend,
        "profile": str(out),
        "reports": reports,
        "requests_per_s_under_profiler": run.requests_per_s,
        "non_2xx": run.non_2xx,
        "socket_errors": run.socket_errors,
        "server_cpu_ms_per_report": round(1000 * cpu / reports, 3),
        "outbox_pending_after": pending,
        "gil_ms_per_report": round(1000 * total / reports, 3),
        "top_self": timed(by_self[: args.top], "frame"),
        "self_by_package": timed(by_package(by_self)[: args.top], "package"),
        "parts": timed(by_part, "part"),
        "top_total_project": timed(project[: args.top], "frame"),
        "per_report": per_report(before, after, reports),
    }


def printed(result: dict[str, Any]) -> str:
    """A profile's summary as text."""
    lines = [
        f"## {result['backend']}: {result['reports']} reports "
        f"({result['requests_per_s_under_profiler']:.0f}/s under the profiler, "
        f"{result['non_2xx']} non-2xx, {result['socket_errors']} socket errors); "
        f"server CPU {result['server_cpu_ms_per_report']:.2f} ms per report, GIL held {result['gil_ms_per_report']:.2f} ms (wall) per report; "
        f"profile {result['profile']}",
        # A sample finds a thread holding the GIL, on a CPU or waiting for one: on a busy
        # machine the GIL's wall time passes the CPU time, so the shares are what compare.
        "top frames by self time (share of GIL samples, GIL wall ms per report):",
    ]
    lines += _timed_lines(result["top_self"], "frame")
    lines.append("self time by package:")
    lines += _timed_lines(result["self_by_package"], "package")
    lines.append("a report's parts (share of GIL samples, GIL wall ms per report):")
    lines += _timed_lines(result["parts"], "part")
    lines.append("project frames by total time:")
    lines += _timed_lines(result["top_total_project"], "frame")
    for part in ("statements", "transactions"):
        counts = result["per_report"].get(part, {})
        lines.append(f"{part} per report: {sum(counts.values()):.2f}")
        lines += [f"  {n:7.3f}  {kind}" for kind, n in counts.items()]
    rows = {
        kind: n
        for kind, n in result["per_report"].get("rows", {}).items()
        if n != result["per_report"]["statements"].get(kind)
    }
    if rows:
        lines.append("rows per report where statements ran many rows (executemany):")
        lines += [f"  {n:7.3f}  {kind}" for kind, n in rows.items()]
    return "\n".join(lines)


def _timed_lines(rows: list[dict[str, Any]], key: str) -> list[str]:
    return [f"  {r['share']:6.1%} {r['ms_per_report']:7.3f}  {r[key]}" for r in rows]


async def main() -> None:
    parser = options(__doc__)
    parser.add_argument("--top", type=int, default=TOP, choices=range(1, 101), metavar="1..100")
    args = parser.parse_args()
    require_wrk()
    py_spy()
    configure_logging("bench", "WARNING")
    results: dict[str, Any] = {"machine": machine(), "calibration": calibration(), "runs": []}
    print(json.dumps(results["calibration"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        for backend in backends(args.backend):
            workdir = Path(tmp) / backend
            workdir.mkdir()
            result = await profile(backend, workdir, args)
            results["runs"].append(result)
            print(printed(result), flush=True)
    out = VAR / "profile-dispatch.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    asyncio.run(main())
