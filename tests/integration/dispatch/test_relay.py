"""The outbox relay against a real nats-server, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg, StreamConfig
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SOURCE, SqlEventStore
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.relay import OutboxRelay
from services.dispatch.service_layer.ports import AppendBatch, NewEvent
from shared.clock import Clock, ManualClock, SystemClock
from shared.database import create_engine
from shared.envelope import Envelope
from shared.events.recorded import EventMetadata
from shared.nats import connect, ensure_streams
from shared.subjects import EVENTS_STREAM
from wo.processes import NatsServer

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
META = EventMetadata(actor="cs-1", correlation_id="corr-1")
# (tenant, project) per work order: subjects must carry each one's own scope.
SCOPES = [("acme", "sunny"), ("acme", "harbour"), ("globex", "east-park")]


@dataclass
class Dispatch:
    engine: AsyncEngine
    store: SqlEventStore
    nc: Client
    js: JetStreamContext

    def relay(
        self,
        *,
        batch_size: int = 50,
        poll_interval: float = 0.2,
        publish_timeout: float = 1.0,
        clock: Clock | None = None,
        before_mark: Callable[[Sequence[uuid.UUID]], Awaitable[None]] | None = None,
        stream_count_seconds: float = 30.0,
    ) -> OutboxRelay:
        """A relay on this process's engine and NATS connection, tuned for quick tests."""
        return OutboxRelay(
            self.engine,
            self.js,
            batch_size=batch_size,
            poll_interval=poll_interval,
            publish_timeout=publish_timeout,
            clock=clock or SystemClock(),
            max_backoff=0.5,
            before_mark=before_mark,
            stream_check_seconds=0.05,
            stream_count_seconds=stream_count_seconds,
        )


@pytest.fixture
async def dispatch(database_url: str, nats_server: NatsServer) -> AsyncIterator[Dispatch]:
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlEventStore(engine)
    nc = await connect(nats_server.url, "test-relay")
    js = nc.jetstream()
    await ensure_streams(js)
    yield Dispatch(engine, store, nc, js)
    await store.close()
    await nc.close()
    await engine.dispose()


def work_order(i: int) -> str:
    return f"wo-{i:03d}"


async def append(store: SqlEventStore, i: int, expected: int, count: int = 1) -> int:
    """Append `count` progress events to work order `i`; return the new version."""
    tenant, project = SCOPES[i % len(SCOPES)]
    events = tuple(
        NewEvent(
            uuid.uuid4(),
            "workorder.progress_reported",
            1,
            T0,
            {"note": f"{work_order(i)} v{expected + n}"},
        )
        for n in range(1, count + 1)
    )
    result = await store.append(AppendBatch(work_order(i), expected, tenant, project, events, META))
    return result.version


async def stream_messages(js: JetStreamContext) -> list[RawStreamMsg]:
    """Every message of the EVENTS stream, in stream order."""
    state = (await js.stream_info(EVENTS_STREAM)).state
    if not state.messages:
        return []
    return [
        await js.get_msg(EVENTS_STREAM, seq) for seq in range(state.first_seq, state.last_seq + 1)
    ]


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


async def pending_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.outbox.c.id).where(t.outbox.c.status == "pending"))
        return len(rows.all())


async def stored_event_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return {str(r) for r in (await conn.execute(select(t.events.c.event_id))).scalars()}


def assert_each_event_once_in_version_order(
    messages: Sequence[RawStreamMsg], expected_ids: set[str]
) -> None:
    envelopes = [Envelope.from_json(m.data or b"") for m in messages]
    msg_ids = [(m.headers or {}).get("Nats-Msg-Id") for m in messages]
    assert msg_ids == [str(e.id) for e in envelopes]
    assert len(msg_ids) == len(set(msg_ids)), "an event is in the stream twice"
    assert set(msg_ids) == expected_ids, "an event is missing from the stream"
    sequences: dict[str, list[int]] = {}
    for envelope in envelopes:
        sequences.setdefault(envelope.subject, []).append(envelope.sequence)
    for stream_id, seen in sequences.items():
        assert seen == list(range(1, len(seen) + 1)), f"{stream_id} out of order: {seen}"


@contextlib.asynccontextmanager
async def running(*relays: OutboxRelay) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_committed_events_reach_their_subjects_with_the_envelope_in_version_order(
    dispatch: Dispatch,
) -> None:
    clock = ManualClock(T0)
    # A long poll: only the event store's commit callback can make this relay fast.
    relay = dispatch.relay(clock=clock, poll_interval=60.0)
    dispatch.store.on_commit(relay.wake)
    published_before = REGISTRY.get_sample_value("dispatch_relay_published_total") or 0.0

    async with running(relay):
        versions = dict.fromkeys(range(6), 0)
        for round_ in range(3):
            # Concurrent commands, one or two events each: group commits mix work orders.
            appends = [
                append(dispatch.store, i, v, count=1 + round_ % 2) for i, v in versions.items()
            ]
            new_versions = await asyncio.gather(*appends)
            versions = dict(zip(versions, new_versions, strict=True))
        total = sum(versions.values())

        async def all_arrived() -> bool:
            return len(await stream_messages(dispatch.js)) >= total

        await eventually(all_arrived, within=10.0)

    messages = await stream_messages(dispatch.js)
    assert_each_event_once_in_version_order(messages, await stored_event_ids(dispatch.engine))
    for i in versions:
        expected = [
            Envelope.from_recorded(e, SOURCE) for e in await dispatch.store.load(work_order(i))
        ]
        got = [Envelope.from_json(m.data or b"") for m in messages]
        assert [e for e in got if e.subject == work_order(i)] == expected
        tenant, project = SCOPES[i % len(SCOPES)]
        subjects = {
            m.subject for m, e in zip(messages, got, strict=True) if e.subject == work_order(i)
        }
        assert subjects == {f"events.{tenant}.{project}.workorder.progress_reported"}
    async with dispatch.engine.connect() as conn:
        rows = (await conn.execute(select(t.outbox))).mappings().all()
    assert {r["status"] for r in rows} == {"published"}
    assert {r["published_at"] for r in rows} == {T0}
    assert REGISTRY.get_sample_value("dispatch_outbox_backlog") == 0
    assert REGISTRY.get_sample_value("dispatch_relay_published_total") == published_before + total


async def test_a_failed_publish_keeps_the_row_pending_and_holds_back_its_work_order(
    dispatch: Dispatch,
) -> None:
    for i in range(3):
        await append(dispatch.store, i, 0, count=3)
    # A stream that refuses every message as too large: JetStream answers with an error.
    await dispatch.js.delete_stream(EVENTS_STREAM)
    await dispatch.js.add_stream(
        StreamConfig(name=EVENTS_STREAM, subjects=["events.>"], max_msg_size=16)
    )
    relay = dispatch.relay()

    assert await relay.publish_pending() == 0

    async with dispatch.engine.connect() as conn:
        rows = (await conn.execute(select(t.outbox).order_by(t.outbox.c.id))).mappings().all()
    assert {r["status"] for r in rows} == {"pending"}
    heads = [r for r in rows if r["version"] == 1]
    behind = [r for r in rows if r["version"] > 1]
    assert all(r["attempts"] == 1 and r["last_error"] for r in heads), [
        r["last_error"] for r in heads
    ]
    assert all(r["attempts"] == 0 and r["last_error"] is None for r in behind)

    await ensure_streams(dispatch.js)
    assert await relay.publish_pending() == 9
    assert_each_event_once_in_version_order(
        await stream_messages(dispatch.js), await stored_event_ids(dispatch.engine)
    )
    assert await pending_rows(dispatch.engine) == 0


async def test_a_relay_killed_after_publishing_and_before_marking_causes_no_duplicates(
    dispatch: Dispatch,
) -> None:
    for i in range(5):
        await append(dispatch.store, i, 0, count=3)
    published = asyncio.Event()

    async def hang_after_publishing(event_ids: Sequence[uuid.UUID]) -> None:
        published.set()
        await asyncio.Event().wait()  # the kill arrives here

    # A small round (three rows on SQLite, three work orders on PostgreSQL): the kill
    # lands in the middle of the backlog.
    doomed = dispatch.relay(batch_size=3, before_mark=hang_after_publishing)
    task = asyncio.create_task(doomed.run())
    await asyncio.wait_for(published.wait(), 10.0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    already_in_stream = len(await stream_messages(dispatch.js))
    assert 0 < already_in_stream < 15
    assert await pending_rows(dispatch.engine) == 15  # the marking was rolled back

    fresh = dispatch.relay(batch_size=3)
    while await fresh.publish_pending():
        pass

    assert await pending_rows(dispatch.engine) == 0
    assert_each_event_once_in_version_order(
        await stream_messages(dispatch.js), await stored_event_ids(dispatch.engine)
    )


async def test_a_relay_stopped_as_a_commit_wakes_it_stops(dispatch: Dispatch) -> None:
    # A stopping service cancels its relay; a commit's wake in the same step used to be
    # taken instead of the cancellation (asyncio.wait_for on Python 3.11), and the relay
    # ran on, as the tests below that stop relays sometimes did (a worker "crashed" on CI).
    relay = dispatch.relay(poll_interval=60.0)
    await append(dispatch.store, 0, 0)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _drained(dispatch.engine), within=10.0)
        await asyncio.sleep(0.2)  # past its round: waiting to be woken
        relay.wake()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10.0)

        assert task in done and task.cancelled()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _drained(engine: AsyncEngine) -> bool:
    return await pending_rows(engine) == 0


async def test_events_committed_while_nats_restarts_arrive_once_and_in_order(
    dispatch: Dispatch, nats_server: NatsServer
) -> None:
    relay = dispatch.relay(publish_timeout=0.5, poll_interval=0.1)
    dispatch.store.on_commit(relay.wake)
    work_orders = range(6)

    async def keep_appending() -> None:
        versions = dict.fromkeys(work_orders, 0)
        for _ in range(12):
            for i in work_orders:
                versions[i] = await append(dispatch.store, i, versions[i])
            await asyncio.sleep(0.1)

    async with running(relay):
        appending = asyncio.create_task(keep_appending())
        await asyncio.sleep(0.4)
        await asyncio.to_thread(nats_server.stop)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(nats_server.start)
        await appending

        await eventually(lambda: _drained(dispatch.engine), within=30.0)

    assert_each_event_once_in_version_order(
        await stream_messages(dispatch.js), await stored_event_ids(dispatch.engine)
    )


async def test_two_relays_on_one_database_publish_everything_once_in_order(
    dispatch: Dispatch, database_url: str, nats_server: NatsServer
) -> None:
    # Interleaved single-event appends: every work order's rows are spread over the outbox.
    versions = dict.fromkeys(range(20), 0)
    for _ in range(4):
        for i in versions:
            versions[i] = await append(dispatch.store, i, versions[i])

    other_engine = create_engine(database_url)
    other_nc = await connect(nats_server.url, "test-relay-2")
    try:
        first = dispatch.relay(batch_size=4)
        second = OutboxRelay(
            other_engine,
            other_nc.jetstream(),
            batch_size=4,
            poll_interval=0.05,
            publish_timeout=1.0,
            clock=SystemClock(),
            max_backoff=0.5,
        )
        dispatch.store.on_commit(first.wake)
        async with running(first, second):
            # More commits while both relays compete for the backlog.
            for _ in range(2):
                for i in versions:
                    versions[i] = await append(dispatch.store, i, versions[i])

            await eventually(lambda: _drained(dispatch.engine), within=30.0)
    finally:
        await other_nc.close()
        await other_engine.dispose()

    messages = await stream_messages(dispatch.js)
    assert len(messages) == sum(versions.values())
    assert_each_event_once_in_version_order(messages, await stored_event_ids(dispatch.engine))


async def test_a_lost_events_stream_is_recreated_and_refilled_from_the_store(
    dispatch: Dispatch,
) -> None:
    relay = dispatch.relay(publish_timeout=0.5, poll_interval=0.1)

    await _lose_and_refill(dispatch, relay, lambda: dispatch.js.delete_stream(EVENTS_STREAM))

    assert relay.bus.last_loss == "stream missing"


async def test_a_stream_that_lost_some_events_is_replaced_and_refilled_in_order(
    dispatch: Dispatch,
) -> None:
    relay = dispatch.relay(publish_timeout=0.5, poll_interval=0.1, stream_count_seconds=0.05)
    tenant, project = SCOPES[1]

    # One work order's events vanish (an operator's purge): the stream is still there,
    # with its name, its creation time and its sequence.
    await _lose_and_refill(
        dispatch,
        relay,
        lambda: dispatch.js.purge_stream(EVENTS_STREAM, subject=f"events.{tenant}.{project}.>"),
    )

    assert relay.bus.last_loss is not None
    assert relay.bus.last_loss.startswith("messages missing")


async def _lose_and_refill(
    dispatch: Dispatch, relay: OutboxRelay, lose: Callable[[], Awaitable[object]]
) -> None:
    """Publish 12 events, `lose` them, append 8: the relay puts all 20 back in order."""
    dispatch.store.on_commit(relay.wake)
    versions = {i: await append(dispatch.store, i, 0, count=3) for i in range(4)}

    async with running(relay):
        await eventually(lambda: _no_pending(dispatch.engine))
        await lose()
        for i in range(4):
            versions[i] = await append(dispatch.store, i, versions[i], count=2)

        async def refilled() -> bool:
            if await pending_rows(dispatch.engine) or relay.bus.losses == 0:
                return False
            try:
                return len(await stream_messages(dispatch.js)) == 20
            except Exception:
                return False

        await eventually(refilled, within=30.0)

    assert_each_event_once_in_version_order(
        await stream_messages(dispatch.js), await stored_event_ids(dispatch.engine)
    )
    assert relay.bus.stream == "complete"
    assert relay.bus.losses == 1


async def _no_pending(engine: AsyncEngine) -> bool:
    return await pending_rows(engine) == 0
