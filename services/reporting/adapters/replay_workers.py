"""Worker processes of a rebuild: one per partition, each replaying it into the new generation.

Processes, not tasks: the replay is CPU-bound Python (parsing, validating, folding,
drawing samples), so only processes use more than one core. They are started with
`spawn` (a fresh interpreter: no copy of the parent's event loop, threads or connections),
open their own NATS connection and database engine, count the messages they read in a
shared array the parent reads for its progress, and put their outcome, or their error, on
a queue. The parent waits for every one: if any fails (an error, or the process died) the
others are stopped and the rebuild fails, before anything was switched.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from services.reporting.adapters.replay_partition import (
    ReplayJob,
    ReplayOutcome,
    replay_partition,
)
from services.reporting.adapters.store import ReadModelStore
from shared.clock import SystemClock
from shared.database import Database, create_engine
from shared.nats import connect

POLL_SECONDS = 0.2


class RebuildFailed(Exception):
    """A worker of the rebuild failed: the new generation is incomplete."""


Entry = Callable[[int, ReplayJob, str, str, Any, Any], None]
"""What a worker process runs: (index, job, NATS URL, database URL, read counts, results)."""


def work(
    index: int, job: ReplayJob, nats_url: str, database_url: str, reads: Any, results: Any
) -> None:
    """A worker process's body: replay `job`, put `(index, outcome, None)` or
    `(index, None, error)` on `results`."""

    def counted(n: int) -> None:
        reads[index] = n

    try:
        outcome = asyncio.run(_replay(job, nats_url, database_url, counted))
    except Exception as exc:  # reported to the parent, which fails the rebuild
        first_line = (str(exc).splitlines() or [""])[0][:300]
        results.put((index, None, f"{type(exc).__name__}: {first_line}"))
        raise SystemExit(1) from None
    results.put((index, outcome, None))


async def _replay(
    job: ReplayJob, nats_url: str, database_url: str, counted: Callable[[int], None]
) -> ReplayOutcome:
    engine = create_engine(database_url, pool_size=1)
    database = Database(engine)
    try:
        client = await connect(nats_url, "reporting-rebuild-worker", max_reconnect_attempts=3)
        try:
            store = ReadModelStore(database, SystemClock())
            return await replay_partition(store, client, job, counted)
        finally:
            await client.close()
    finally:
        database.close()
        await engine.dispose()


@dataclass(frozen=True)
class Workers:
    """How a rebuild replays in worker processes: at most `count` of them, reaching NATS
    and the database at these URLs; `entry` is what each runs."""

    count: int
    nats_url: str
    database_url: str
    entry: Entry = field(default=work)


async def run_workers(
    workers: Workers, jobs: Sequence[ReplayJob], counted: Callable[[int], None]
) -> list[ReplayOutcome]:
    """Run one process per job and return their outcomes in the jobs' order; tell
    `counted` the messages read by all so far. `RebuildFailed` if any fails."""
    context = multiprocessing.get_context("spawn")
    reads = context.Array("q", len(jobs), lock=False)
    results = context.Queue()
    processes: list[BaseProcess] = [
        context.Process(
            target=workers.entry,
            args=(i, job, workers.nats_url, workers.database_url, reads, results),
            name=f"reporting-rebuild-{i}",
            daemon=True,
        )
        for i, job in enumerate(jobs)
    ]
    outcomes: dict[int, ReplayOutcome] = {}
    try:
        for process in processes:
            process.start()
        while len(outcomes) < len(jobs):
            await asyncio.sleep(POLL_SECONDS)
            counted(sum(reads))
            _collect(results, outcomes)
            for i, process in enumerate(processes):
                if i not in outcomes and process.exitcode is not None:
                    # Its outcome may have reached the queue just before it ended.
                    _collect(results, outcomes)
                    if i not in outcomes:
                        raise RebuildFailed(
                            f"rebuild worker {i} ended with exit code {process.exitcode}"
                        )
        counted(sum(reads))
        return [outcomes[i] for i in range(len(jobs))]
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
        results.close()


def _collect(results: Any, outcomes: dict[int, ReplayOutcome]) -> None:
    while True:
        try:
            index, outcome, error = results.get_nowait()
        except queue.Empty:
            return
        if error is not None:
            raise RebuildFailed(f"rebuild worker {index} failed: {error}")
        outcomes[index] = outcome
