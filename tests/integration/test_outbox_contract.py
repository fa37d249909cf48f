"""The outbox port (`shared.outbox.OutboxRows`): one contract, every implementation, every backend.

The shared outbox publisher relies on nothing but this port, so each service's
outbox (dispatch's `SqlOutbox`, notify's `SqlNotifyOutbox`) must pass the same suite,
on SQLite and (with TEST_DATABASE_URL) PostgreSQL, and so must the in-memory outbox the
publisher's service-layer tests run on (once: it has no database). Only the arrangement writes
through the service's own write path; every assertion goes through the port.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import upgrade as upgrade_dispatch
from services.dispatch.adapters.outbox import SqlOutbox
from services.dispatch.service_layer.ports import AppendBatch, NewEvent
from services.notify.adapters.migrate import upgrade as upgrade_notify
from services.notify.adapters.outbox import SqlNotifyOutbox
from shared.database import create_engine
from shared.events.recorded import EventMetadata
from shared.jetstream import OutgoingMessage
from shared.memory_outbox import InMemoryOutbox
from shared.outbox import OutboxRow, OutboxRows
from tests.integration.notify.test_outbox_publisher import queue_events

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 1, 5, tzinfo=UTC)
META = EventMetadata(actor="cs-1", correlation_id="corr-1")


@dataclass
class Outbox:
    """One implementation of the port, and a way to commit events into it."""

    rows: OutboxRows
    write: Callable[[int, int], Awaitable[None]]
    """Commit `count` events on work order `i` (notify's outbox is one lane for all)."""
    written: list[str]
    """Every committed event id, in commit order."""


async def _dispatch(engine: AsyncEngine) -> AsyncIterator[Outbox]:
    await upgrade_dispatch(engine)
    store = SqlEventStore(engine)
    versions: dict[int, int] = {}
    written: list[str] = []

    async def write(i: int, count: int) -> None:
        events = tuple(
            NewEvent(uuid.uuid4(), "workorder.progress_reported", 1, T0, {"note": f"{i} {n}"})
            for n in range(count)
        )
        batch = AppendBatch(f"wo-{i}", versions.get(i, 0), "acme", "sunny", events, META)
        versions[i] = (await store.append(batch)).version
        written.extend(str(event.event_id) for event in events)

    yield Outbox(SqlOutbox(engine), write, written)
    await store.close()


async def _notify(engine: AsyncEngine) -> AsyncIterator[Outbox]:
    await upgrade_notify(engine)
    written: list[str] = []

    async def write(i: int, count: int) -> None:
        written.extend(await queue_events(engine, count))

    yield Outbox(SqlNotifyOutbox(engine), write, written)


async def _memory() -> AsyncIterator[Outbox]:
    rows = InMemoryOutbox()
    written: list[str] = []

    async def write(i: int, count: int) -> None:
        for n in range(count):
            msg_id = str(uuid.uuid4())
            subject = "events.acme.sunny.workorder.progress_reported"
            rows.add(f"wo-{i}", OutgoingMessage(subject, f'{{"n":{n}}}'.encode(), msg_id), T0)
            written.append(msg_id)

    yield Outbox(rows, write, written)


IMPLEMENTATIONS = {"dispatch": _dispatch, "notify": _notify}
MEMORY = "memory"


@pytest.fixture(params=[*sorted(IMPLEMENTATIONS), MEMORY])
async def outbox(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Outbox]:
    if request.param == MEMORY:
        if not database_url.startswith("sqlite"):
            pytest.skip("the in-memory outbox has no database: it runs with SQLite's only")
        async for made in _memory():
            yield made
        return
    engine = create_engine(database_url)
    async for made in IMPLEMENTATIONS[request.param](engine):
        yield made
    await engine.dispose()


def ids(rows: Sequence[OutboxRow]) -> list[str]:
    return [row.message.msg_id for row in rows]


def by_lane(rows: Sequence[OutboxRow]) -> dict[str, list[str]]:
    lanes: dict[str, list[str]] = {}
    for row in rows:
        lanes.setdefault(row.lane, []).append(row.message.msg_id)
    return lanes


def assert_lanes_in_commit_order(rows: Sequence[OutboxRow], written: list[str]) -> None:
    place = {msg_id: n for n, msg_id in enumerate(written)}
    for lane, lane_ids in by_lane(rows).items():
        assert lane_ids == sorted(lane_ids, key=place.__getitem__), f"{lane} out of order"


async def interleaved(outbox: Outbox, work_orders: int, rounds: int) -> None:
    for _ in range(rounds):
        for i in range(work_orders):
            await outbox.write(i, 1)


async def pending(outbox: Outbox) -> list[OutboxRow]:
    async with outbox.rows.claim(1000) as claim:
        return list(claim.rows)


async def test_a_claim_holds_the_pending_rows_each_lane_in_commit_order(outbox: Outbox) -> None:
    await interleaved(outbox, work_orders=3, rounds=3)

    async with outbox.rows.claim(1000) as claim:
        assert sorted(ids(claim.rows)) == sorted(outbox.written)
        assert_lanes_in_commit_order(claim.rows, outbox.written)
        assert not claim.more
        assert await claim.backlog() == 9
    row = next(r for r in claim.rows if r.message.msg_id == outbox.written[0])
    assert row.message.subject.startswith("events.acme.sunny.")
    assert row.message.payload
    assert row.created_at.utcoffset() is not None  # the lag is measured against an aware now
    assert await outbox.rows.published_count() == 0


async def test_settled_rows_are_published_and_failed_ones_stay_pending_first_in_line(
    outbox: Outbox,
) -> None:
    await interleaved(outbox, work_orders=2, rounds=3)
    async with outbox.rows.claim(1000) as claim:
        first, second = claim.rows[0], claim.rows[1]
        await claim.settle([first], {second.id: "NoRespondersError"}, T1)
        assert await claim.backlog() == 5

    assert await outbox.rows.published_count() == 1
    left = await pending(outbox)
    assert first.message.msg_id not in ids(left)
    assert by_lane(left)[second.lane][0] == second.message.msg_id
    assert_lanes_in_commit_order(left, outbox.written)


async def test_an_error_before_the_settlement_leaves_every_row_pending(outbox: Outbox) -> None:
    await interleaved(outbox, work_orders=2, rounds=2)

    with pytest.raises(RuntimeError):
        async with outbox.rows.claim(1000) as claim:
            assert claim.rows
            raise RuntimeError("the publisher died before marking")

    assert sorted(ids(await pending(outbox))) == sorted(outbox.written)
    assert await outbox.rows.published_count() == 0


async def test_a_claim_at_its_limit_says_more_and_holds_a_prefix_of_each_lane(
    outbox: Outbox,
) -> None:
    await interleaved(outbox, work_orders=4, rounds=3)

    async with outbox.rows.claim(2) as claim:
        assert claim.more
        assert claim.rows
        everything = by_lane(await _all(outbox))
        for lane, lane_ids in by_lane(claim.rows).items():
            assert lane_ids == everything[lane][: len(lane_ids)]
        await claim.settle(claim.rows, {}, T1)

    assert await outbox.rows.published_count() == len(claim.rows)
    # Drained claim by claim, every row is claimed once.
    claimed = ids(claim.rows)
    while True:
        async with outbox.rows.claim(2) as claim:
            if not claim.rows:
                assert not claim.more
                break
            claimed += ids(claim.rows)
            await claim.settle(claim.rows, {}, T1)
    assert sorted(claimed) == sorted(outbox.written)
    assert await outbox.rows.published_count() == 12


async def test_a_second_claim_meanwhile_skips_the_held_lanes_or_repeats_them_in_order(
    outbox: Outbox,
) -> None:
    await interleaved(outbox, work_orders=4, rounds=2)

    # The second on another connection of the same database, as another process would claim.
    async with outbox.rows.claim(2) as held, outbox.rows.claim(1000) as other:
        held_lanes = by_lane(held.rows)
        for lane, lane_ids in by_lane(other.rows).items():
            if lane in held_lanes:
                assert lane_ids[: len(held_lanes[lane])] == held_lanes[lane]
        assert_lanes_in_commit_order(other.rows, outbox.written)


async def test_everything_gives_every_event_published_or_not_in_pages_each_lane_in_order(
    outbox: Outbox,
) -> None:
    await interleaved(outbox, work_orders=3, rounds=3)
    async with outbox.rows.claim(1000) as claim:
        await claim.settle(claim.rows[:4], {}, T1)

    pages = [page async for page in outbox.rows.everything(2)]

    assert all(0 < len(page) <= 2 for page in pages)
    rows = [row for page in pages for row in page]
    assert sorted(ids(rows)) == sorted(outbox.written)
    assert_lanes_in_commit_order(rows, outbox.written)


async def test_the_refill_lock_is_held_and_released_and_claims_go_on_after_it(
    outbox: Outbox,
) -> None:
    await outbox.write(0, 2)

    async with outbox.rows.refill_lock():
        everything = await _all(outbox)
    async with outbox.rows.refill_lock():  # released: it can be taken again
        again = await _all(outbox)

    assert ids(everything) == ids(again) == outbox.written
    assert ids(await pending(outbox)) == outbox.written


async def _all(outbox: Outbox) -> list[OutboxRow]:
    return [row async for page in outbox.rows.everything(1000) for row in page]
