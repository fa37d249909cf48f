"""Contract of the event store, run against SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import insert, select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.service_layer.context import Effect
from services.dispatch.service_layer.ports import AppendBatch, IdempotencyRecord, NewEvent
from shared.database import create_engine
from shared.errors import ConcurrencyConflict
from shared.events.catalogue import register_upcaster, unregister_upcaster
from shared.events.recorded import EventMetadata

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
META = EventMetadata(actor="cs-1", correlation_id="corr-1")


def progress(note: str, at: datetime = T0) -> NewEvent:
    return NewEvent(uuid.uuid4(), "workorder.progress_reported", 1, at, {"note": note})


def batch(stream: str, expected: int, *events: NewEvent, key: str | None = None) -> AppendBatch:
    idem = (
        IdempotencyRecord("acme", "cs-1", key, "fp", stream, Effect.APPLIED, {"ok": True})
        if key
        else None
    )
    return AppendBatch(stream, expected, "acme", "sunny", tuple(events), META, idempotency=idem)


async def test_appended_events_load_in_version_order(store: SqlEventStore) -> None:
    result = await store.append(batch("wo-1", 0, progress("a"), progress("b")))
    await store.append(batch("wo-1", 2, progress("c")))

    loaded = await store.load("wo-1")

    assert result.version == 2
    assert [e.version for e in loaded] == [1, 2, 3]
    assert [e.data["note"] for e in loaded] == ["a", "b", "c"]
    assert all(e.occurred_at.tzinfo is not None for e in loaded)
    assert loaded[0].metadata == META


async def test_outbox_rows_commit_with_the_events_and_carry_the_envelope(
    store: SqlEventStore,
) -> None:
    await store.append(batch("wo-1", 0, progress("a"), progress("b")))

    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(t.outbox).order_by(t.outbox.c.id))).mappings().all()

    assert [r["version"] for r in rows] == [1, 2]
    assert {r["subject"] for r in rows} == {"events.acme.sunny.workorder.progress_reported"}
    assert {r["status"] for r in rows} == {"pending"}
    envelope = orjson.loads(rows[0]["payload"])
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "workorder.progress_reported.v1"
    assert envelope["subject"] == "wo-1"
    assert envelope["sequence"] == 1
    assert envelope["tenant"] == "acme"
    assert envelope["correlationid"] == "corr-1"
    assert str(rows[0]["event_id"]) == envelope["id"]


async def test_concurrent_appends_at_the_same_version_let_exactly_one_win(
    store: SqlEventStore,
) -> None:
    await store.append(batch("wo-1", 0, progress("a")))

    outcomes = await asyncio.gather(
        *(store.append(batch("wo-1", 1, progress(f"writer {i}"))) for i in range(5)),
        return_exceptions=True,
    )

    wins = [o for o in outcomes if not isinstance(o, BaseException)]
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    assert len(wins) == 1 and len(conflicts) == 4
    assert [e.version for e in await store.load("wo-1")] == [1, 2]


async def test_two_store_instances_on_one_database_never_overwrite(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    await upgrade(engines[0])
    stores = [SqlEventStore(e) for e in engines]
    try:
        outcomes = await asyncio.gather(
            *(s.append(batch("wo-9", 0, progress(f"from {i}"))) for i, s in enumerate(stores)),
            return_exceptions=True,
        )
        assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
        assert len(await stores[0].load("wo-9")) == 1
    finally:
        for s in stores:
            await s.close()
        for e in engines:
            await e.dispose()


async def test_two_stores_racing_for_the_same_streams_in_opposite_orders_never_deadlock(
    database_url: str,
) -> None:
    """Each store's group holds several streams; the other's holds them in reverse order."""
    engines = [create_engine(database_url) for _ in range(2)]
    await upgrade(engines[0])
    stores = [SqlEventStore(e) for e in engines]
    streams = [f"wo-{n}" for n in range(8)]
    try:
        for round_ in range(10):
            appends = [
                store.append(batch(stream, round_, progress(f"{i}:{round_}")))
                for i, store in enumerate(stores)
                for stream in (streams if i == 0 else streams[::-1])
            ]
            outcomes = await asyncio.gather(*appends, return_exceptions=True)
            # Per stream exactly one store wins each round; the rest are plain conflicts.
            unexpected = [
                o
                for o in outcomes
                if isinstance(o, Exception) and not isinstance(o, ConcurrencyConflict)
            ]
            assert unexpected == []
            assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == len(streams)
        for stream in streams:
            assert len(await stores[0].load(stream)) == 10
    finally:
        for s in stores:
            await s.close()
        for e in engines:
            await e.dispose()


async def test_a_stale_expected_version_is_a_conflict_even_ahead_of_the_stream(
    store: SqlEventStore,
) -> None:
    await store.append(batch("wo-1", 0, progress("a")))

    with pytest.raises(ConcurrencyConflict):
        await store.append(batch("wo-1", 0, progress("again from zero")))
    with pytest.raises(ConcurrencyConflict):
        await store.append(batch("wo-1", 5, progress("from the future")))
    assert len(await store.load("wo-1")) == 1


async def test_a_conflict_fails_only_its_own_command_in_a_group(store: SqlEventStore) -> None:
    await store.append(batch("wo-1", 0, progress("a")))

    outcomes = await asyncio.gather(
        store.append(batch("wo-1", 0, progress("stale"))),
        *(store.append(batch(f"wo-new-{i}", 0, progress("fresh"))) for i in range(10)),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], ConcurrencyConflict)
    assert all(not isinstance(o, BaseException) for o in outcomes[1:])
    for i in range(10):
        assert len(await store.load(f"wo-new-{i}")) == 1


async def test_a_repeated_idempotency_key_returns_the_first_result_and_appends_nothing(
    store: SqlEventStore,
) -> None:
    first = await store.append(batch("wo-1", 0, progress("a"), key="key-1"))
    again = await store.append(batch("wo-1", 0, progress("a"), key="key-1"))

    assert first.duplicate_of is None and len(first.events) == 1
    assert again.duplicate_of is not None and again.duplicate_of.response == {"ok": True}
    assert again.events == ()
    assert len(await store.load("wo-1")) == 1
    stored = await store.idempotent_result("acme", "cs-1", "key-1")
    assert stored is not None and stored.stream_id == "wo-1"


async def test_concurrent_duplicates_of_one_command_append_once(store: SqlEventStore) -> None:
    outcomes = await asyncio.gather(
        *(store.append(batch("wo-1", 0, progress("a"), key="same")) for _ in range(5)),
        return_exceptions=True,
    )

    assert all(not isinstance(o, BaseException) for o in outcomes)
    assert (
        sum(1 for o in outcomes if not isinstance(o, BaseException) and o.duplicate_of is None) == 1
    )
    assert len(await store.load("wo-1")) == 1


async def test_upcasters_turn_old_stored_events_into_the_current_shape(
    store: SqlEventStore,
) -> None:
    # A v0 "progress_reported" stored its text as "text"; v1 calls it "note".
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(t.events).values(
                stream_id="wo-old",
                version=1,
                event_id=uuid.uuid4(),
                type_name="workorder.progress_reported",
                schema_version=0,
                tenant="acme",
                project="sunny",
                occurred_at=T0,
                recorded_at=T0,
                data={"text": "old shape"},
                event_metadata=META.model_dump(),
            )
        )
    register_upcaster("workorder.progress_reported", 0, lambda d: {"note": d["text"]})
    try:
        [event] = await store.load("wo-old")
    finally:
        unregister_upcaster("workorder.progress_reported", 0)

    assert event.schema_version == 1
    assert event.data == {"note": "old shape"}


async def test_times_round_trip_as_utc(store: SqlEventStore) -> None:
    shanghai_evening = datetime(2026, 3, 2, 21, 30, tzinfo=UTC) + timedelta(hours=0)
    await store.append(batch("wo-1", 0, progress("a", at=shanghai_evening)))

    [event] = await store.load("wo-1")

    assert event.occurred_at == shanghai_evening
    assert event.occurred_at.utcoffset() == timedelta(0)


async def test_the_same_key_of_two_callers_is_two_commands(store: SqlEventStore) -> None:
    mine = IdempotencyRecord("acme", "cs-li", "key-1", "fp", "wo-1", Effect.APPLIED, {"who": "li"})
    theirs = IdempotencyRecord(
        "acme", "cs-zhao", "key-1", "fp", "wo-2", Effect.APPLIED, {"who": "zhao"}
    )

    first = await store.append(
        AppendBatch("wo-1", 0, "acme", "sunny", (progress("a"),), META, idempotency=mine)
    )
    second = await store.append(
        AppendBatch("wo-2", 0, "acme", "sunny", (progress("b"),), META, idempotency=theirs)
    )

    assert first.duplicate_of is None and second.duplicate_of is None
    found = [await store.idempotent_result("acme", who, "key-1") for who in ("cs-li", "cs-zhao")]
    assert [r.response if r else None for r in found] == [{"who": "li"}, {"who": "zhao"}]
    assert await store.idempotent_result("acme", "cs-wu", "key-1") is None
