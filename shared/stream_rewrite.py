"""Replacing messages on the EVENTS stream that hold what must not stay there (a
resident's clear personal data, written before it was sealed or masked).

The stream's messages are read once, in order, by an ephemeral consumer without acks.
Messages are grouped by their envelope's `subject` (a work order, a delivery: the unit
whose messages keep their order); a group is *affected* from its first message that
`needs` replacing on. Each affected group's replacement messages are published (with
their event ids as `Nats-Msg-Id`, so consumers that applied them skip them), all of them
in order, and then its old messages are deleted with erasure (JetStream overwrites a
deleted message's bytes), newest first: the message that made the group affected, the
oldest, goes last, so a crash leaves it there and the next run does the group again
(deleting the copies the crashed run published as well). A run that finds nothing
affected changes nothing.

Publishing again within JetStream's duplicate window would be dropped as a duplicate
and the old copy deleted with nothing in its place: the run first waits until the
newest message to replace is older than the window. JetStream forgets ids on a timer,
which can run late; a group that meets a remembered id has the copies it stored erased
and is tried again after the window has passed once more (`KEPT_TRIES` in all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from shared.jetstream import MSG_ID_HEADER, OutgoingMessage
from shared.subjects import EVENTS_STREAM

KEPT_TRIES = 3
"""Attempts at a group whose old message ids JetStream still remembers, each after the
duplicate window has passed again, before the group is left for the next run."""

Envelope = dict[str, Any]
Replacement = Callable[[str, Sequence[Envelope]], Awaitable[Sequence[OutgoingMessage] | None]]
"""The messages to publish in place of a group's (its id, its messages from the first
affected one on); None leaves the group as it is."""


@dataclass(frozen=True, slots=True)
class Replaced:
    """What a run did (or, dry, would do)."""

    groups: int = 0
    """Groups with a message to replace."""
    published: int = 0
    deleted: int = 0
    """Messages erased (dry: to erase)."""
    skipped: int = 0
    """Groups left as they were, for the next run."""


@dataclass(slots=True)
class _Found:
    messages: dict[str, list[tuple[int, Envelope]]] = field(default_factory=dict)
    newest: datetime | None = None


async def replace_messages(
    js: JetStreamContext,
    subjects: str,
    needs: Callable[[Envelope], bool],
    replacement: Replacement,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_wait: Callable[[float], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Replaced:
    """Replace the messages on `subjects` of every group with a message that `needs` it."""
    try:
        info = await js.stream_info(EVENTS_STREAM)
    except NotFoundError:
        return Replaced()
    found = await _scan(js, subjects, int(info.state.last_seq), needs, batch_size)
    groups = sorted(found.messages, key=lambda group: found.messages[group][0][0])
    if dry_run or not groups:
        return Replaced(len(groups), 0, sum(len(m) for m in found.messages.values()), 0)
    window = float(info.config.duplicate_window or 0)
    await _outwait(found.newest, window, on_wait)
    published = deleted = skipped = 0
    for done, group in enumerate(groups, start=1):
        old = found.messages[group]
        messages = await replacement(group, [envelope for _, envelope in old])
        if not messages:
            skipped += 1
            continue
        seqs = {seq for seq, _ in old}
        fresh = await _publish_group(js, messages, seqs)
        for _ in range(1, KEPT_TRIES):
            if fresh is not None:
                break
            # JetStream forgets a message id on a timer, which can run late (seen on a
            # loaded machine): wait out the window again, from now, and try once more.
            await _outwait(datetime.now(UTC), window, on_wait)
            fresh = await _publish_group(js, messages, seqs)
        if fresh is None:
            # JetStream still remembers an old message's id: deleting it would lose the
            # event. The next run (after the window) replaces this group.
            skipped += 1
            continue
        published += fresh
        for seq in sorted(seqs, reverse=True):
            deleted += await _erase(js, seq)
        if on_progress is not None:
            on_progress(done, len(groups))
    return Replaced(len(groups), published, deleted, skipped)


async def each_message(
    js: JetStreamContext,
    subjects: str,
    visit: Callable[[int, bytes, datetime], None],
    *,
    until: int | None = None,
    batch_size: int = 500,
) -> None:
    """Call `visit(sequence, body, stored at)` for each message on `subjects`, in stream
    order, up to sequence `until` (default: the stream's last), with an ephemeral
    consumer and no acks."""
    if until is None:
        try:
            until = int((await js.stream_info(EVENTS_STREAM)).state.last_seq)
        except NotFoundError:
            return
    subscription = await js.pull_subscribe(
        subjects,
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
                    return
                at = message.metadata.timestamp
                visit(seq, message.data, at if at.tzinfo is not None else at.replace(tzinfo=UTC))
    finally:
        await subscription.unsubscribe()


async def _scan(
    js: JetStreamContext,
    subjects: str,
    until: int,
    needs: Callable[[Envelope], bool],
    batch_size: int,
) -> _Found:
    found = _Found()

    def visit(seq: int, body: bytes, at: datetime) -> None:
        _note(found, body, seq, at, needs)

    await each_message(js, subjects, visit, until=until, batch_size=batch_size)
    return found


def _note(
    found: _Found, body: bytes, seq: int, at: datetime, needs: Callable[[Envelope], bool]
) -> None:
    try:
        envelope = orjson.loads(body)
        group = str(envelope["subject"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return  # not an event: nothing in it to replace
    if group not in found.messages:
        if not needs(envelope):
            return
        found.messages[group] = []
    found.messages[group].append((seq, envelope))
    found.newest = at if found.newest is None else max(found.newest, at)


async def _outwait(
    newest: datetime | None, window_seconds: float, on_wait: Callable[[float], None] | None
) -> None:
    if newest is None or window_seconds <= 0:
        return
    remaining = window_seconds - (datetime.now(UTC) - newest).total_seconds() + 0.5
    if remaining > 0:
        if on_wait is not None:
            on_wait(remaining)
        await asyncio.sleep(remaining)


async def _publish_group(
    js: JetStreamContext, messages: Sequence[OutgoingMessage], old: set[int]
) -> int | None:
    """Publish a group's replacements, in order; the number stored, or None when JetStream
    took one for a duplicate of an old message (its id still remembered). Then the copies
    this attempt stored are erased again, so that a later attempt's copies are the only
    ones and stay in order."""
    stored: list[int] = []
    kept = False
    for message in messages:
        ack = await js.publish(
            message.subject,
            message.payload,
            stream=EVENTS_STREAM,
            headers={MSG_ID_HEADER: message.msg_id},
        )
        if not ack.duplicate:
            stored.append(ack.seq)
        kept = kept or (bool(ack.duplicate) and ack.seq in old)
    if not kept:
        return len(stored)
    for seq in reversed(stored):
        await _erase(js, seq)
    return None


async def _erase(js: JetStreamContext, seq: int) -> int:
    """Delete one message with erasure (its bytes overwritten); 0 if it was gone."""
    try:
        return 1 if await js.delete_msg(EVENTS_STREAM, seq) else 0
    except NotFoundError:
        return 0
