"""One partition of a rebuild's replay: read its messages, fold them in memory, write the rows.

The generation a rebuild fills is invisible to readers until the switch and its rows are
written once, so the replay need not load and store rows batch by batch as the live
projector does: a partition is folded whole in one `WorkingSet` in memory, by the
projector's own validation (`fold_items`) and fold (`project`), in stream order (every
message of a stream is in the partition). At the end each order, position, waiting event,
notification outcome and KPI sample is written once, `batch_size` streams a transaction:
short transactions, so that on SQLite the workers take turns at the single writer lock.
The KPI samples go last, sorted by their table's key, so that they are appended in order
instead of scattered over the pages of a table larger than the page cache. The memory
this takes is the facts of the partition's orders and their samples (about 6 KB an order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from services.reporting.adapters.samples import sample_key
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.ports import DeadLetterRecord
from services.reporting.service_layer.projection import Waiting, WorkingSet, project
from services.reporting.service_layer.projector import fold_items, letter_record
from shared.consumer import DeadLetter, Delivery
from shared.envelope import Envelope
from shared.subjects import EVENTS_STREAM

REBUILD_CONSUMER = "rebuild"
"""The name a rebuild's replay records its position and dead letters under."""

SAMPLES_PER_ORDER = 10
"""About how many KPI samples an order has: the samples go `batch_size` times this a
transaction."""

Counted = Callable[[int], None]
"""Told the messages read so far, as the replay goes."""


@dataclass(frozen=True)
class ReplayJob:
    """A partition to replay into `generation`: the messages of `filters` in `first..last`
    (`events` of them), fetched `batch_size` at a time and written `batch_size` streams a
    transaction."""

    generation: int
    filters: tuple[str, ...]
    first: int
    last: int
    events: int
    batch_size: int


@dataclass(frozen=True)
class ReplayOutcome:
    """What a partition's replay did: messages read, events applied."""

    events: int
    applied: int


def stream_sequence(message: Msg) -> int:
    """The message's sequence in the stream, from its reply subject.

    `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...` (9 tokens), or with domain and
    account hash (11 or more); `Msg.metadata` parses every field of it, which cost an
    eighth of the replay's reading.
    """
    tokens = message.reply.split(".")
    if tokens[0] == "$JS" and tokens[1] == "ACK":
        if len(tokens) == 9:
            return int(tokens[5])
        if len(tokens) >= 11:
            return int(tokens[7])
    return int(message.metadata.sequence.stream)


async def replay_partition(
    store: ReadModelStore, js: JetStreamContext, job: ReplayJob, counted: Counted | None = None
) -> ReplayOutcome:
    """Fold the partition's messages up to `job.last` into `job.generation`."""
    working = WorkingSet()
    dead: list[DeadLetterRecord] = []
    read = 0
    subscription = await js.pull_subscribe(
        job.filters[0],
        stream=EVENTS_STREAM,
        config=ConsumerConfig(
            filter_subjects=list(job.filters) if len(job.filters) > 1 else None,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=job.first,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        ),
    )
    try:
        past_end = False
        while read < job.events and not past_end:
            try:
                messages = await subscription.fetch(
                    min(job.batch_size, job.events - read), timeout=5.0
                )
            except NatsTimeoutError:
                # Fewer messages than counted: some left the stream (limits) meanwhile.
                if (await subscription.consumer_info()).num_pending == 0:
                    break
                continue
            deliveries: list[Delivery] = []
            for message in messages:
                seq = stream_sequence(message)
                if seq > job.last:
                    past_end = True
                    break
                read += 1
                try:
                    envelope = Envelope.from_json(message.data)
                except ValidationError as exc:
                    dead.append(
                        letter_record(
                            DeadLetter(message.subject, seq, message.data,
                                       f"not a valid event envelope: {exc}", 1, None)
                        )
                    )  # fmt: skip
                    continue
                deliveries.append(Delivery(envelope, message.subject, seq, 1))
            items, poison = fold_items(deliveries)
            project(working, items)
            dead.extend(poison)
            if counted is not None:
                counted(read)
    finally:
        await subscription.unsubscribe()
    samples: list[tuple[Any, ...]] = []
    for piece in pieces(working, job.batch_size):
        samples += await store.fill_generation(job.generation, piece, dead, REBUILD_CONSUMER)
        dead = []
    if dead:
        await store.fill_generation(job.generation, WorkingSet(), dead, REBUILD_CONSUMER)
    samples.sort(key=sample_key)
    step = job.batch_size * SAMPLES_PER_ORDER
    for start in range(0, len(samples), step):
        await store.insert_samples(samples[start : start + step])
    return ReplayOutcome(read, working.applied)


def pieces(working: WorkingSet, size: int) -> Iterator[WorkingSet]:
    """`working`, folded from nothing, cut into working sets of at most `size` streams each
    (the projects' rows and the notification outcomes with the first)."""
    waiting: dict[str, dict[tuple[str, int], Waiting]] = {}
    for key, item in working.pending.items():
        waiting.setdefault(key[0], {})[key] = item
    streams = sorted(working.positions.keys() | waiting.keys())
    for start in range(0, len(streams), max(1, size)):
        keys = streams[start : start + size]
        piece = WorkingSet(
            positions={k: working.positions[k] for k in keys if k in working.positions},
            orders={k: working.orders[k] for k in keys if k in working.orders},
        )
        piece.changed_orders = {k for k in keys if k in working.changed_orders}
        for k in keys:
            piece.pending.update(waiting.get(k, {}))
        piece.added_pending = set(piece.pending) & working.added_pending
        if start == 0:
            piece.projects = working.projects
            piece.changed_projects = working.changed_projects
            piece.notifications = working.notifications
        yield piece
