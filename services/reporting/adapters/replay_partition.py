"""One partition of a rebuild's replay: read its messages, fold them in memory, write the rows.

The generation a rebuild fills is invisible to readers until the switch and its rows are
written once, so the replay need not load and store rows batch by batch as the live
projector does: a partition is folded whole in one `WorkingSet` in memory, by the
projector's own validation (`fold_items`) and fold (`project`), in stream order (every
message of a stream is in the partition). At the end each order, position, waiting event,
notification outcome and KPI sample is written once, `batch_size` streams a transaction:
short transactions, so that on SQLite the workers take turns at the single writer lock.
The KPI samples go last, sorted by their table's key, so that they are appended in order
instead of scattered over the pages of a table larger than the page cache; then the
roll-up, summed over the whole partition (`SampleTally`), each row once. The memory
this takes is the facts of the partition's orders and their samples (about 6 KB an order).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from services.reporting.adapters.samples import SampleTally, sample_key
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.ports import DeadLetterRecord
from services.reporting.service_layer.projection import Waiting, WorkingSet, project
from services.reporting.service_layer.projector import fold_items, letter_record
from shared import heap
from shared.consumer import DeadLetter, Delivery
from shared.envelope import Envelope
from shared.pull import BatchPull
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
    store: ReadModelStore, client: Client, job: ReplayJob, counted: Counted | None = None
) -> ReplayOutcome:
    """Fold the partition's messages up to `job.last` into `job.generation`."""
    with heap.growing() as keep:
        folded = await _fold(client, job, keep, counted)
        await _write(store, job, folded, keep)
    return ReplayOutcome(folded.read, folded.working.applied)


@dataclass
class _Folded:
    working: WorkingSet = field(default_factory=WorkingSet)
    dead: list[DeadLetterRecord] = field(default_factory=list)
    read: int = 0


@asynccontextmanager
async def replay_reader(
    client: Client, filters: Sequence[str], first: int
) -> AsyncIterator[BatchPull]:
    """The messages of `filters` from stream sequence `first` on, through an ephemeral
    consumer without acks, deleted when the reading ends."""
    js = client.jetstream()
    consumer = await js.add_consumer(
        EVENTS_STREAM,
        ConsumerConfig(
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=list(filters) if len(filters) > 1 else None,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=first,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        ),
    )
    name = consumer.name or ""
    try:
        async with BatchPull(client, EVENTS_STREAM, name) as pull:
            yield pull
    finally:
        with suppress(NotFoundError):
            await js.delete_consumer(EVENTS_STREAM, name)


def delivered(message: Msg, seq: int) -> Delivery | DeadLetter:
    """A message as the projector takes it, or as a dead letter when it is no envelope."""
    try:
        envelope = Envelope.from_json(message.data)
    except ValidationError as exc:
        reason = f"not a valid event envelope: {exc}"
        return DeadLetter(message.subject, seq, message.data, reason, 1, None)
    return Delivery(envelope, message.subject, seq, 1)


async def _fold(
    client: Client, job: ReplayJob, keep: Callable[[], None], counted: Counted | None
) -> _Folded:
    folded = _Folded()
    async with replay_reader(client, job.filters, job.first) as pull:
        while folded.read < job.events:
            left = job.events - folded.read
            try:
                messages = await pull.fetch(
                    min(job.batch_size, left), ahead=min(job.batch_size, left - job.batch_size)
                )
            except NatsTimeoutError:
                # Fewer messages than counted: some left the stream (limits) meanwhile.
                info = await client.jetstream().consumer_info(EVENTS_STREAM, pull.consumer)
                if info.num_pending == 0:
                    break
                continue
            within = _fold_batch(folded, messages, job.last)
            keep()  # the folded facts stay to the end: no collection walks them again
            if counted is not None:
                counted(folded.read)
            if not within:
                break
    return folded


def _fold_batch(folded: _Folded, messages: list[Msg], last: int) -> bool:
    """Fold `messages` up to stream sequence `last`; False once past it."""
    deliveries: list[Delivery] = []
    within = True
    for message in messages:
        seq = stream_sequence(message)
        if seq > last:
            within = False
            break
        folded.read += 1
        item = delivered(message, seq)
        if isinstance(item, DeadLetter):
            folded.dead.append(letter_record(item))
        else:
            deliveries.append(item)
    items, poison = fold_items(deliveries)
    project(folded.working, items)
    folded.dead.extend(poison)
    return within


async def _write(
    store: ReadModelStore, job: ReplayJob, folded: _Folded, keep: Callable[[], None]
) -> None:
    tally = SampleTally(job.generation)
    dead = folded.dead
    for piece in pieces(folded.working, job.batch_size):
        # Drawn before the transaction: on SQLite the workers hold the writer lock in turn.
        tally.add([(None, piece.orders[k]) for k in sorted(piece.changed_orders)])
        await store.fill_generation(job.generation, piece, dead, REBUILD_CONSUMER)
        dead = []
        keep()
    if dead:
        await store.fill_generation(job.generation, WorkingSet(), dead, REBUILD_CONSUMER)
    drawn = tally.rows()
    drawn.fresh.sort(key=sample_key)
    step = job.batch_size * SAMPLES_PER_ORDER
    for start in range(0, len(drawn.fresh), step):
        await store.insert_samples(drawn.fresh[start : start + step])
    await store.add_rollup(job.generation, drawn)


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
