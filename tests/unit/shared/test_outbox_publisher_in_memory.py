"""The outbox publisher over the in-memory outbox and a fake JetStream: each event once,
each lane in order, a failed publish retried, nothing marked before its acknowledgement.

No database and no nats-server: the outbox's storage is the contract suite's job
(tests/integration/test_outbox_contract.py), a real stream the integration tests'.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

import pytest
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.clock import ManualClock
from shared.jetstream import MSG_ID_HEADER, OutgoingMessage
from shared.memory_outbox import InMemoryOutbox
from shared.outbox import OutboxMetrics, OutboxPublisher

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class FakeJetStream:
    """What the publisher calls of JetStream: `publish_async`, acknowledged as told.

    It keeps every acknowledged message (no deduplication, so a repeat would show), can
    refuse a message once, and can hold the acknowledgements until `release`.
    """

    def __init__(self) -> None:
        self.stream: list[str] = []
        """Acknowledged message ids, in the order acknowledged."""
        self.refuse_once: set[str] = set()
        self.holding = False
        self.sent = asyncio.Event()
        self._held: list[tuple[asyncio.Future[None], str]] = []

    async def publish_async(
        self, subject: str, payload: bytes, headers: Mapping[str, str]
    ) -> asyncio.Future[None]:
        msg_id = headers[MSG_ID_HEADER]
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if msg_id in self.refuse_once:
            self.refuse_once.discard(msg_id)
            ack.set_exception(ConnectionError("no responders"))
        elif self.holding:
            self._held.append((ack, msg_id))
        else:
            self._acknowledge(ack, msg_id)
        self.sent.set()
        return ack

    def release(self) -> None:
        """Acknowledge what was held, in the order it was published."""
        self.holding = False
        for ack, msg_id in self._held:
            self._acknowledge(ack, msg_id)
        self._held.clear()

    def _acknowledge(self, ack: asyncio.Future[None], msg_id: str) -> None:
        self.stream.append(msg_id)
        ack.set_result(None)


def publisher(
    rows: InMemoryOutbox,
    js: FakeJetStream,
    before_mark: Callable[[Sequence[str]], Awaitable[None]] | None = None,
) -> OutboxPublisher:
    registry = CollectorRegistry()
    metrics = OutboxMetrics(
        backlog=Gauge("backlog", "rows pending", registry=registry),
        published=Counter("published", "rows published", registry=registry),
        errors=Counter("errors", "rows failed", registry=registry),
        lag=Histogram("lag", "commit to ack", registry=registry),
    )
    return OutboxPublisher(
        rows,
        # The publisher's rounds call only `publish_async` of it.
        cast(JetStreamContext, js),
        name="test",
        subjects=["events.>"],
        metrics=metrics,
        clock=ManualClock(T0),
        log_name="test_outbox",
        before_mark=before_mark,
    )


def commit(rows: InMemoryOutbox, lane: str, count: int) -> list[str]:
    """Commit `count` events on `lane`; their ids in commit order."""
    ids = [f"{lane}-{n}" for n in range(count)]
    for msg_id in ids:
        rows.add(lane, OutgoingMessage(f"events.acme.sunny.{lane}", b"{}", msg_id), T0)
    return ids


def lane_of(stream: list[str], lane: str) -> list[str]:
    return [msg_id for msg_id in stream if msg_id.startswith(f"{lane}-")]


async def test_each_event_is_published_once_each_lane_in_commit_order() -> None:
    rows, js = InMemoryOutbox(), FakeJetStream()
    a = commit(rows, "wo-a", 3)
    b = commit(rows, "wo-b", 2)
    relay = publisher(rows, js)

    assert await relay.publish_pending() == 5
    assert await relay.publish_pending() == 0

    assert sorted(js.stream) == sorted(a + b)
    assert lane_of(js.stream, "wo-a") == a
    assert lane_of(js.stream, "wo-b") == b
    assert await rows.published_count() == 5
    assert rows.pending() == []


async def test_a_failed_publish_stays_pending_first_in_its_lane_and_goes_again() -> None:
    rows, js = InMemoryOutbox(), FakeJetStream()
    a = commit(rows, "wo-a", 2)
    b = commit(rows, "wo-b", 2)
    js.refuse_once.add(a[0])
    relay = publisher(rows, js)

    # The refused event holds back its own lane only.
    assert await relay.publish_pending() == 2
    assert js.stream == b
    assert [row.message.msg_id for row in rows.pending()] == a
    refused = next(s for s in rows.stored if s.row.message.msg_id == a[0])
    assert (refused.attempts, refused.last_error) == (1, "ConnectionError: no responders")

    assert await relay.publish_pending() == 2
    assert js.stream == b + a
    assert rows.pending() == []


async def test_nothing_is_marked_published_before_jetstream_acknowledges_it() -> None:
    rows, js = InMemoryOutbox(), FakeJetStream()
    a = commit(rows, "wo-a", 1)
    js.holding = True
    relay = publisher(rows, js)

    round_ = asyncio.create_task(relay.publish_pending())
    await js.sent.wait()
    # Published and not yet acknowledged: still pending.
    assert js.stream == []
    assert await rows.published_count() == 0
    assert [row.message.msg_id for row in rows.pending()] == a

    js.release()
    assert await round_ == 1
    assert js.stream == a
    assert await rows.published_count() == 1


async def test_a_publisher_that_dies_before_marking_leaves_its_rows_to_go_again() -> None:
    rows, js = InMemoryOutbox(), FakeJetStream()
    a = commit(rows, "wo-a", 2)

    async def die(acknowledged: Sequence[str]) -> None:
        raise RuntimeError("killed between the acknowledgement and the mark")

    with pytest.raises(RuntimeError):
        await publisher(rows, js, before_mark=die).publish_pending()
    assert await rows.published_count() == 0

    assert await publisher(rows, js).publish_pending() == 2
    # Sent twice; JetStream's duplicate window drops the repeats by their ids.
    assert js.stream == a + a
    assert rows.pending() == []
