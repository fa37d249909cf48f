"""Reports over HTTP from one dispatch process to several on one PostgreSQL (issue 18).

Usage: python -m bench.ingest_instances [--instances 2] [--rounds 2] [--seconds 10]

dispatch as `bench/ingest.py` runs it (`POST /v1/work-orders`, a customer-service token,
a fresh `Idempotency-Key` on every request), but as 1, 2, ... `--instances` full
processes at once: each on its own loopback port with its own group committer, outbox
relay and SLA scheduler, all on one PostgreSQL database and one nats-server, as
deploy/README.md runs instances behind a load balancer. wrk takes one URL, so each
instance gets its own `wrk -t1`, the 32 connections shared among them (16 + 16 for two);
their counts and rates are summed, and each latency percentile is the worst instance's.
CPU is every instance's process tree together (from /proc), from before the load until
the outbox is drained; beside it, the CPU of the PostgreSQL backends connected to the
database over the same span (the server must be on this machine; its WAL writer,
checkpointer and autovacuum are not counted). The instance counts alternate within
each round, the order turning each round. PostgreSQL only: SQLite has one writer per
file on one host, so a second process adds a waiter, not a writer. Results go to
bench/results/ingest-instances.json, with what the run's data takes on disk afterwards
(bench/storage.py: bytes a row of dispatch's tables, bytes an event in `EVENTS`). Needs
Debian's `wrk` and the `bench` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.ingest import (
    CONNECTIONS,
    Turn,
    begin_run,
    dispatch_servers,
    fresh_postgres,
    load,
    options,
    turn_order,
    variants,
)
from bench.storage import stream_size, table_sizes
from bench.support import calibration
from bench.wrk import combined

DATABASE = "bench_ingest_instances"


@dataclass(frozen=True)
class InstancesTurn:
    """dispatch run as `instances` processes, loaded once."""

    instances: int
    per_instance_requests_per_s: list[float]
    turn: Turn
    """The instances together: requests summed, the worst instance's latency percentiles,
    every instance's process tree's CPU."""
    database_cpu_seconds: float
    """The PostgreSQL backends serving the instances (not the server's own writer,
    checkpointer and autovacuum processes)."""

    @property
    def database_cpu_ms_per_request(self) -> float:
        """The database backends' CPU per answered request."""
        requests = self.turn.requests
        return 1000 * self.database_cpu_seconds / requests if requests else 0.0


@dataclass(frozen=True)
class InstancesSummary:
    """One instance count's medians over its rounds."""

    instances: int
    rounds: int
    failing: bool
    requests_per_s: float
    cpu_ms_per_request: float
    database_cpu_ms_per_request: float
    scaling: float | None
    """Throughput over the one-process figure (None for a failing count, or without it)."""


def summarise(turns: list[InstancesTurn]) -> list[InstancesSummary]:
    """Each instance count's medians, and its throughput relative to one process."""
    return [
        InstancesSummary(
            v.key,
            len(v.turns),
            v.failing,
            v.requests_per_s,
            v.cpu_ms_per_request,
            round(statistics.median(t.database_cpu_ms_per_request for t in v.turns), 3),
            v.relative,
        )
        for v in variants(turns, lambda t: t.instances, lambda t: t.turn, base=1)
    ]


def table(summaries: list[InstancesSummary]) -> str:
    """The medians as a Markdown table."""
    lines = [
        "| instances | req/s (median) | CPU ms/req (median) | database CPU ms/req (median)"
        " | × one process | rounds |",
        "|---|---|---|---|---|---|",
    ]
    for s in summaries:
        scaling = f"{s.scaling:.2f}" if s.scaling is not None else "—"
        figures = (
            "FAILING | FAILING | FAILING | —"
            if s.failing
            else f"{s.requests_per_s:,.1f} | {s.cpu_ms_per_request:.2f} | "
            f"{s.database_cpu_ms_per_request:.2f} | {scaling}"
        )
        lines.append(f"| {s.instances} | {figures} | {s.rounds} |")
    return "\n".join(lines)


async def measure(
    database_url: str, workdir: Path, args: argparse.Namespace
) -> list[InstancesTurn]:
    """Every instance count `rounds` times, alternated."""
    counts = tuple(range(1, args.instances + 1))
    turns: list[InstancesTurn] = []
    for round_index in range(args.rounds):
        for count in turn_order(round_index, counts):
            name = f"x{count}-{round_index}"
            turn_dir = workdir / name
            turn_dir.mkdir()
            async with dispatch_servers(turn_dir, database_url, count) as servers:
                loaded = await load(
                    servers,
                    turn_dir,
                    name,
                    seconds=args.seconds,
                    warmup=args.warmup,
                    count_database=True,
                )
            runs = loaded.runs
            turn = Turn.of(
                "postgresql", "dispatch", round_index, combined(runs), loaded.cpu, loaded.wall
            )
            database_cpu = round(loaded.database_cpu or 0.0, 3)
            instances_turn = InstancesTurn(
                count, [r.requests_per_s for r in runs], turn, database_cpu
            )
            turns.append(instances_turn)
            print(
                f"  round {turn.round} instances {count}  {turn.requests_per_s:8.1f} req/s "
                f"({' + '.join(f'{r.requests_per_s:.1f}' for r in runs)})  {turn.figures}  "
                f"database {instances_turn.database_cpu_ms_per_request:.2f} ms CPU/req",
                flush=True,
            )
    return turns


async def main() -> None:
    parser = options(__doc__, backend=False)
    parser.add_argument(
        "--instances", type=int, default=2, choices=range(1, 9), metavar="1..8",
        help="measure 1 up to this many dispatch processes",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 11), metavar="1..10")
    parser.add_argument("--label", default="", help="the machine's state, kept with the results")
    args = parser.parse_args()
    results = begin_run(
        args,
        backend="postgresql",
        wrk=f"one -t1 per instance, {CONNECTIONS} connections shared, -d{args.seconds}s, "
        f"warm-up {args.warmup}s",
    )
    database_url = await fresh_postgres(args.postgres, DATABASE)
    with tempfile.TemporaryDirectory(prefix="bench-instances-") as tmp:
        turns = await measure(database_url, Path(tmp), args)
        results["calibration_after"] = calibration()
        # After the load and its calibration: compacting and republishing are no turn's.
        tables = await table_sizes(database_url)
        stream = await stream_size(database_url, Path(tmp))
    results["storage"] = {
        "tables": [{**asdict(t), "bytes_per_row": t.bytes_per_row} for t in tables],
        "stream": {
            **asdict(stream),
            "bytes_per_message": stream.bytes_per_message,
            "payload_bytes_per_message": stream.payload_bytes_per_message,
        },
    }
    for t in tables:
        print(f"  {t.table:22} {t.rows:8} rows  {t.bytes_per_row:8.1f} bytes a row", flush=True)
    print(
        f"  EVENTS {stream.messages} messages  {stream.bytes_per_message:.1f} bytes a message "
        f"({stream.payload_bytes_per_message:.1f} of body)",
        flush=True,
    )
    summaries = summarise(turns)
    results["turns"] = [
        {
            "instances": t.instances,
            "per_instance_requests_per_s": t.per_instance_requests_per_s,
            **asdict(t.turn),
            "cpu_ms_per_request": round(t.turn.cpu_ms_per_request, 3),
            "database_cpu_seconds": t.database_cpu_seconds,
            "database_cpu_ms_per_request": round(t.database_cpu_ms_per_request, 3),
        }
        for t in turns
    ]
    results["summary"] = [asdict(s) for s in summaries]
    print(json.dumps(results["calibration_after"]), flush=True)
    print(table(summaries), flush=True)
    out = Path(__file__).parent / "results" / "ingest-instances.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    asyncio.run(main())
