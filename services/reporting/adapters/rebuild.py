"""Rebuild: replay EVENTS from its first message into a fresh generation, then switch to it.

Readers keep the current generation until the switch, a single-row update, so the API
serves the old figures throughout and the new ones from one instant on. The replay reads
the stream as it stands when the rebuild starts, split into partitions by project
(`partitions`): each is replayed by its own worker process (`replay_workers`), or in this
process when there is one, through the projector's own validation and fold, folded in
memory and written once into the new generation (`replay_partition`), so the result is
what the live projector would have built. The switch is made here, only once every worker
has succeeded: a failed worker fails the rebuild, its half-filled generation is dropped
and the current one goes on serving.

The live projector goes on meanwhile in the old generation; after the switch the rebuild
reads once more up to the stream's end, through the projector itself, so whatever the
live projector applied to the old generation in between is in the new one too (both are
idempotent per stream position, so applying an event twice is harmless).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.client import Client
from nats.js import JetStreamContext

from services.reporting.adapters.partitions import ReplayPlan, plan
from services.reporting.adapters.replay_partition import (
    REBUILD_CONSUMER,
    ReplayJob,
    ReplayOutcome,
    delivered,
    replay_partition,
    replay_reader,
    stream_sequence,
)
from services.reporting.adapters.replay_workers import RebuildFailed, Workers, run_workers
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.projector import Projector
from shared.consumer import DeadLetter, Delivery
from shared.subjects import EVENTS_STREAM, EVENTS_SUBJECTS

__all__ = ["RebuildFailed", "RebuildResult", "Workers", "rebuild"]

Progress = Callable[[int, int], None]
"""Told (events read, events to read) as the replay goes."""


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild did."""

    generation: int
    previous_generation: int
    events: int
    stream_sequence: int
    partitions: int = 1


async def _last_sequence(js: JetStreamContext) -> int:
    info = await js.stream_info(EVENTS_STREAM)
    return int(info.state.last_seq)


async def _catch_up(
    client: Client,
    projector: Projector,
    after: int,
    until: int,
    batch_size: int,
    progress: Progress | None,
    total: int,
    done: int,
) -> int:
    """Apply stream messages `(after, until]` through `projector`; return the count read."""
    if until <= max(after, 0):
        return done
    async with replay_reader(client, (EVENTS_SUBJECTS,), after + 1) as pull:
        position = after
        while position < until:
            messages = await pull.fetch(min(batch_size, until - position))
            deliveries: list[Delivery] = []
            for message in messages:
                seq = stream_sequence(message)
                if seq > until:
                    continue
                position = max(position, seq)
                item = delivered(message, seq)
                if isinstance(item, DeadLetter):
                    await projector.dead_letter(item)
                else:
                    deliveries.append(item)
                done += 1
            if deliveries:
                await projector.handle(deliveries)
            if progress is not None:
                progress(done, total)
    return done


async def _replay(
    store: ReadModelStore,
    client: Client,
    target: int,
    replay_plan: ReplayPlan,
    batch_size: int,
    workers: Workers | None,
    progress: Progress | None,
) -> list[ReplayOutcome]:
    """Every partition of `replay_plan` replayed into `target`: in worker processes when
    there are `workers` and more than one partition, else here."""
    total = replay_plan.events
    jobs = [
        ReplayJob(target, p.filters, replay_plan.first, replay_plan.last, p.events, batch_size)
        for p in replay_plan.partitions
    ]

    def counted(done: int) -> None:
        if progress is not None:
            progress(done, total)

    if workers is not None and len(jobs) > 1:
        return await run_workers(workers, jobs, counted)
    outcomes: list[ReplayOutcome] = []
    for job in jobs:
        before = sum(o.events for o in outcomes)
        outcomes.append(await replay_partition(store, client, job, _after(before, counted)))
    return outcomes


def _after(before: int, counted: Callable[[int], None]) -> Callable[[int], None]:
    return lambda n: counted(before + n)


async def rebuild(
    store: ReadModelStore,
    client: Client,
    live_consumer: str,
    progress: Progress | None = None,
    batch_size: int = 1000,
    workers: Workers | None = None,
) -> RebuildResult:
    """Replay EVENTS into a new generation, switch readers to it, drop the old one.

    `workers` None replays in this process; else the stream is split into at most
    `workers.count` partitions replayed side by side. `RebuildFailed` (nothing switched)
    if a worker fails.
    """
    js = client.jetstream()
    target = await store.prepare_generation()
    replay_plan = await plan(js, workers.count if workers is not None else 1)
    try:
        outcomes = await _replay(store, client, target, replay_plan, batch_size, workers, progress)
        done = sum(o.events for o in outcomes)
        if done:
            applied = sum(o.applied for o in outcomes)
            await store.raise_checkpoint(target, REBUILD_CONSUMER, replay_plan.last, applied)
    except Exception:
        # Nothing was switched: readers stay on the current generation.
        await store.drop_generation(target)
        raise
    last = replay_plan.last
    previous = await store.switch_generation(target, live_consumer, last)
    # Catch up on what arrived during the replay (the live projector may have put it in
    # the old generation only), now into the generation readers see.
    end = await _last_sequence(js)
    projector = Projector(store, consumer=REBUILD_CONSUMER, generation=target)
    done = await _catch_up(
        client, projector, last, end, batch_size, progress, replay_plan.events + end - last, done
    )
    # The new generation now holds everything up to `end`, including what the live
    # projector committed to the old one meanwhile: its position there says so.
    await store.raise_checkpoint(target, live_consumer, end)
    await store.drop_generation(previous)
    return RebuildResult(target, previous, done, end, max(1, len(replay_plan.partitions)))
