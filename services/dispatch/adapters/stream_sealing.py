"""The EVENTS stream's copies of reports recorded before sealing: replaced by sealed ones.

A report published before sealing sits on the stream with its reporter's name, phone and
unit in clear, kept for years and read by integrators. Once the store holds the report
sealed (`service_layer.report_sealing`), each work order whose report is on the stream in
clear is published again from the store, every event of it in version order (same event
ids and `Nats-Msg-Id`, so a consumer that applied them skips them), and then its earlier
messages are deleted from the stream with erasure (JetStream overwrites a deleted
message's bytes). Publishing the whole work order, not the report alone, keeps the
stream's promise of order per work order to whoever replays it from the start.

Deleting the old messages last, the report's (the oldest) after the others, makes a
crash harmless: a work order whose clear report is still on the stream is done again
on the next run, which deletes the copies the crashed run published too. A run with no
clear report on the stream changes nothing.

Run it with dispatch stopped: a message the relay published meanwhile would be kept
in place of its sealed copy, or published after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.rows import SOURCE
from services.dispatch.domain.workorder import is_sealed
from shared.envelope import envelope_json
from shared.jetstream import MSG_ID_HEADER
from shared.subjects import EVENTS_STREAM, event_subject

WORK_ORDER_SUBJECTS = "events.*.*.workorder.>"
REPORTED_TYPE = "workorder.reported."


@dataclass(frozen=True, slots=True)
class StreamSealing:
    """What replacing the clear reports on the stream did (or, dry, would do)."""

    work_orders: int = 0
    """Work orders whose report was on the stream in clear."""
    published: int = 0
    deleted: int = 0
    skipped: int = 0
    """Work orders left as they were: their report is not sealed in the store yet (seal
    the store first), or not in this store at all."""


@dataclass(slots=True)
class _Clear:
    """The stream's messages of work orders whose report is there in clear."""

    seqs: dict[str, list[int]] = field(default_factory=dict)
    newest: datetime | None = None

    def add(self, work_order_id: str, seq: int, at: datetime) -> None:
        self.seqs[work_order_id].append(seq)
        self.newest = at if self.newest is None else max(self.newest, at)


async def _scan(js: JetStreamContext, until: int, batch_size: int) -> _Clear:
    """Read the work orders' messages up to `until` (an ordered read, no acks): which
    orders have a clear report, and their messages from it on."""
    found = _Clear()
    subscription = await js.pull_subscribe(
        WORK_ORDER_SUBJECTS,
        stream=EVENTS_STREAM,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        ),
    )
    try:
        left = (await subscription.consumer_info()).num_pending or 0
        while left > 0:
            for message in await subscription.fetch(min(batch_size, left), timeout=5.0):
                left -= 1
                seq = message.metadata.sequence.stream
                if seq > until:
                    return found
                _note(found, message.data, seq, message.metadata.timestamp)
    finally:
        await subscription.unsubscribe()
    return found


def _note(found: _Clear, body: bytes, seq: int, at: datetime) -> None:
    try:
        envelope = orjson.loads(body)
        order = str(envelope["subject"])
        kind = str(envelope["type"])
        data = envelope["data"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return  # not an event: nothing of a report to replace
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if kind.startswith(REPORTED_TYPE) and isinstance(data, dict) and not is_sealed(data):
        found.seqs.setdefault(order, [])
    if order in found.seqs:
        found.add(order, seq, at)


async def replace_clear_reports(
    js: JetStreamContext,
    store: SqlEventStore,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_wait: Callable[[float], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> StreamSealing:
    """Replace the messages of every work order whose report is on EVENTS in clear by
    the store's (sealed) events; with `dry_run`, count them only.

    Waits first until the newest message to replace is older than the stream's duplicate
    window: a message published again within it would be dropped as a duplicate, and the
    event would be gone with the old copy.
    """
    try:
        info = await js.stream_info(EVENTS_STREAM)
    except NotFoundError:
        return StreamSealing()
    until = int(info.state.last_seq)
    found = await _scan(js, until, batch_size)
    orders = sorted(found.seqs, key=lambda order: found.seqs[order][0])
    if dry_run or not orders:
        return StreamSealing(len(orders), 0, sum(len(s) for s in found.seqs.values()), 0)
    await _outwait(found, float(info.config.duplicate_window or 0), on_wait)
    published = deleted = skipped = 0
    for done, order in enumerate(orders, start=1):
        events = await store.load(order)
        if not events or not is_sealed(events[0].data):
            skipped += 1
            continue
        old = found.seqs[order]
        kept = False
        for event in events:
            ack = await js.publish(
                event_subject(event.tenant, event.project, event.type_name),
                envelope_json(event, SOURCE),
                stream=EVENTS_STREAM,
                headers={MSG_ID_HEADER: str(event.event_id)},
            )
            published += 0 if ack.duplicate else 1
            kept = kept or (bool(ack.duplicate) and ack.seq in old)
        if kept:
            # JetStream still remembers an old message's id: deleting it would lose the
            # event. The next run (after the window) replaces this order.
            skipped += 1
            continue
        for seq in sorted(old, reverse=True):  # the clear report last
            deleted += await _erase(js, seq)
        if on_progress is not None:
            on_progress(done, len(orders))
    return StreamSealing(len(orders), published, deleted, skipped)


async def _outwait(
    found: _Clear, window_seconds: float, on_wait: Callable[[float], None] | None
) -> None:
    if found.newest is None or window_seconds <= 0:
        return
    age = (datetime.now(UTC) - found.newest).total_seconds()
    remaining = window_seconds - age + 0.5
    if remaining > 0:
        if on_wait is not None:
            on_wait(remaining)
        await asyncio.sleep(remaining)


async def _erase(js: JetStreamContext, seq: int) -> int:
    """Delete one message with erasure (its bytes overwritten); 0 if it was gone."""
    try:
        return 1 if await js.delete_msg(EVENTS_STREAM, seq) else 0
    except NotFoundError:
        return 0
