"""What a round trip in the group commit's transaction costs a loaded dispatch (issue 18).

Usage: python -m bench.round_trips [--extra 0,4,8] [--rounds 2] [--seconds 10]
       [--postgres ADMIN_URL]

A group of appends commits in one transaction of about a dozen statements, each a round
trip to PostgreSQL awaited on the service's busy event loop. If those round trips were
what holds a loaded dispatch back, fewer statements a group (one data-modifying
statement for all its rows, say) would raise its throughput. This measures it the other
way round: dispatch as `bench/ingest.py` runs it (relay and SLA scheduler on,
`wrk -t1 -c32`, a fresh `Idempotency-Key` on every report, the process tree's CPU from
/proc) but served by `bench.padded_dispatch`, which adds `--extra` statements that do
nothing to every group's transaction. The counts alternate within each round, the order
turning each round, each turn on a fresh PostgreSQL database at `--postgres`
(bench_round_trips). Each turn reads the padding statements and the groups committed
from dispatch's `/metrics` before its warm-up and after its load, so a turn shows the
statements it really added a group. Results: a table of medians and
bench/results/round-trips.json. Needs Debian's `wrk` and the `bench` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.ingest import (
    CONNECTIONS,
    Server,
    Turn,
    begin_run,
    dispatch_server,
    fresh_postgres,
    groups_in,
    load,
    metrics_of,
    options,
    turn_order,
    variants,
)
from bench.support import calibration, write_results

DATABASE = "bench_round_trips"
PADDING_SAMPLE = "bench_padding_statements_total"


@dataclass(frozen=True)
class PaddedTurn:
    """dispatch loaded once with `extra` statements added to each group's transaction."""

    extra: int
    turn: Turn
    padding: Padding
    """Over the warm-up and the load."""

    @property
    def padding_per_group(self) -> float:
        """Statements added a group, as counted: `extra` when the padding took."""
        return self.padding.statements / self.padding.groups if self.padding.groups else 0.0


@dataclass(frozen=True)
class PaddedSummary:
    """One padding's medians over its rounds."""

    extra: int
    rounds: int
    failing: bool
    requests_per_s: float
    cpu_ms_per_request: float
    group_size: float
    group_ms: float
    padding_per_group: float
    relative: float | None
    """Throughput over the unpadded figure (None when failing, or with no unpadded run)."""


@dataclass(frozen=True)
class Padding:
    """The padding statements run, and the groups committed, read from one `/metrics`."""

    statements: float
    groups: float

    def since(self, before: Padding) -> Padding:
        """What ran after `before` was read."""
        return Padding(self.statements - before.statements, self.groups - before.groups)


def padding_in(metrics: str) -> Padding:
    """The padding statements and groups in a `/metrics` text (0 where it has none)."""
    statements = 0.0
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == PADDING_SAMPLE:
                statements = sample.value
    groups = groups_in(metrics)
    return Padding(statements, groups.count if groups is not None else 0.0)


async def padding_of(server: Server) -> Padding:
    """The padding statements `server` ran so far, and its groups."""
    return padding_in(await metrics_of(server))


def summarise(turns: list[PaddedTurn]) -> list[PaddedSummary]:
    """Each padding's medians, and its throughput relative to no padding."""
    summaries = []
    for v in variants(turns, lambda t: t.extra, lambda t: t.turn, base=0):
        groups = [t.turn.groups for t in v.turns if t.turn.groups is not None]
        summaries.append(
            PaddedSummary(
                v.key,
                len(v.turns),
                v.failing,
                v.requests_per_s,
                v.cpu_ms_per_request,
                round(statistics.median(g.mean_size for g in groups), 1) if groups else 0.0,
                round(statistics.median(g.mean_ms for g in groups), 1) if groups else 0.0,
                round(statistics.median(t.padding_per_group for t in v.turns), 2),
                v.relative,
            )
        )
    return summaries


def table(summaries: list[PaddedSummary]) -> str:
    """The medians as a Markdown table."""
    lines = [
        "| statements added a group | req/s | × unpadded | CPU ms/req | group size"
        " | group ms | counted a group | rounds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        relative = f"{s.relative:.2f}" if s.relative is not None else "—"
        rate = "FAILING" if s.failing else f"{s.requests_per_s:,.1f}"
        lines.append(
            f"| {s.extra} | {rate} | {relative} | {s.cpu_ms_per_request:.2f} | "
            f"{s.group_size:.1f} | {s.group_ms:.1f} | {s.padding_per_group:.2f} | {s.rounds} |"
        )
    return "\n".join(lines)


async def measure(admin_url: str, workdir: Path, args: argparse.Namespace) -> list[PaddedTurn]:
    """Every padding `rounds` times, alternated, each turn on a fresh database."""
    turns: list[PaddedTurn] = []
    for round_index in range(args.rounds):
        for extra in turn_order(round_index, args.extra):
            name = f"extra{extra}-{round_index}"
            turn_dir = workdir / name
            turn_dir.mkdir()
            database_url = await fresh_postgres(admin_url, DATABASE)
            async with dispatch_server(
                turn_dir, database_url, "bench.padded_dispatch", EXTRA_ROUND_TRIPS=str(extra)
            ) as server:
                before = await padding_of(server)
                loaded = await load(
                    [server], turn_dir, name, seconds=args.seconds, warmup=args.warmup
                )
                padding = (await padding_of(server)).since(before)
            run = loaded.runs[0]
            turn = Turn.of(
                "postgresql", "dispatch", round_index, run, loaded.cpu, loaded.wall, loaded.groups
            )
            padded = PaddedTurn(extra, turn, padding)
            turns.append(padded)
            print(
                f"  round {turn.round} +{extra} statements ({padded.padding_per_group:.1f} "
                f"counted a group)  {turn.requests_per_s:8.1f} req/s  {turn.figures}",
                flush=True,
            )
    return turns


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"statement counts are integers; got {text!r}") from None
    if not counts or any(not 0 <= c <= 64 for c in counts):
        raise argparse.ArgumentTypeError(f"one or more counts in 0..64; got {text!r}")
    return counts


async def main() -> None:
    parser = options(__doc__, backend=False)
    parser.add_argument(
        "--extra", type=_counts, default=(0, 4, 8),
        help="statements added to each group's transaction, comma-separated (default 0,4,8)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 11), metavar="1..10")
    parser.add_argument("--label", default="", help="the machine's state, kept with the results")
    args = parser.parse_args()
    results = begin_run(
        args,
        backend="postgresql",
        wrk=f"-t1 -c{CONNECTIONS} -d{args.seconds}s, warm-up {args.warmup}s",
    )
    with tempfile.TemporaryDirectory(prefix="bench-round-trips-") as tmp:
        turns = await measure(args.postgres, Path(tmp), args)
    results["calibration_after"] = calibration()
    summaries = summarise(turns)
    results["turns"] = [
        {
            "extra": t.extra,
            **asdict(t.turn),
            "cpu_ms_per_request": round(t.turn.cpu_ms_per_request, 3),
            "padding_per_group": round(t.padding_per_group, 2),
        }
        for t in turns
    ]
    results["summary"] = [asdict(s) for s in summaries]
    print(table(summaries), flush=True)
    write_results(results, "round-trips.json")


if __name__ == "__main__":
    asyncio.run(main())
