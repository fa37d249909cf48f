"""The contracts of dispatch's write ports, written once for every implementation.

`EventStoreContract` and `IdempotencyStoreContract` talk only through the ports
(`EventStore.append`/`load`, `IdempotencyStore.idempotent_result`) and, for the inline
views an append carries, through the read ports of those views (`ProjectDirectory`) or,
where dispatch reads a view with a query rather than a port (the work-order listing, the
timer table), through the backend's own reader of it (`Backend.listed`, `Backend.timers`),
as `tracking_contract`'s hooks do. A backend subclasses them with a `backend` fixture:
the memory store, SQLite and (with TEST_DATABASE_URL) PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.dispatch.domain.workorder import Numbering
from services.dispatch.service_layer.context import Effect
from services.dispatch.service_layer.ports import (
    AppendBatch,
    AppendResult,
    EventStore,
    IdempotencyRecord,
    Inline,
    LoadGuard,
    NewEvent,
    ProjectView,
    StreamTimers,
    TimerRow,
    WorkOrderView,
)
from services.dispatch.service_layer.projects import ProjectDirectory
from shared.errors import ConcurrencyConflict, Conflict
from shared.events.recorded import EventMetadata

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)
META = EventMetadata(actor="cs-1", correlation_id="corr-1")


@dataclass
class Backend:
    """One implementation of the ports, and the readers of its inline views."""

    store: EventStore
    projects: ProjectDirectory
    listed: Callable[[str], Awaitable[list[dict[str, Any]]]]
    """The tenant's work-order listing, newest report first: each row's summary and version."""
    timers: Callable[[str], Awaitable[list[tuple[str, datetime]]]]
    """A stream's pending timers in the timer table: (key, fires_at), sorted."""


def progress(note: str, at: datetime = T0) -> NewEvent:
    return NewEvent(uuid.uuid4(), "workorder.progress_reported", 1, at, {"note": note})


def reported(note: str) -> NewEvent:
    return NewEvent(uuid.uuid4(), "workorder.reported", 1, T0, {"description": note})


def record(
    stream: str, key: str, subject: str = "cs-1", response: dict[str, Any] | None = None
) -> IdempotencyRecord:
    return IdempotencyRecord(
        "acme", subject, key, "fp", stream, Effect.APPLIED, response or {"ok": True}
    )


def batch(
    stream: str,
    expected: int,
    *events: NewEvent,
    key: str | None = None,
    inline: tuple[Inline, ...] = (),
) -> AppendBatch:
    idem = record(stream, key) if key else None
    return AppendBatch(
        stream, expected, "acme", "sunny", tuple(events), META, idempotency=idem, inline=inline
    )


def view(
    status: str = "reported",
    assignee: str | None = None,
    *,
    tenant: str = "acme",
    project: str = "sunny",
    note: str = "",
    reported_at: datetime = T0,
) -> WorkOrderView:
    return WorkOrderView(
        tenant=tenant,
        project=project,
        kind="repair",
        category="plumbing",
        urgency="normal",
        status=status,
        owner="cs-1",
        assignee=assignee,
        reporter_resident_id=None,
        building=None,
        reported_at=reported_at,
        summary={"status": status, "assignee": assignee, "note": note},
    )


def report(
    n: int, *, project: str = "sunny", day: date = DAY, key: str | None = None
) -> AppendBatch:
    """A new work order's report, to be numbered in `project` on local `day`."""
    stream = str(uuid.uuid4())
    idem = IdempotencyRecord("acme", "cs-1", key, "fp", stream, Effect.CREATED, {}) if key else None
    metadata = EventMetadata(actor="cs-1", correlation_id=f"burst-{n}", idempotency_key=key)
    numbered = (view(project=project, note=f"leak {n}"), Numbering("SG", day))
    return AppendBatch(
        stream, 0, "acme", project, (reported(f"leak {n}"),), metadata, idem, numbered
    )


def acceptance(stream: str, version: int, person: str, limit: int) -> AppendBatch:
    """`person` accepting the order of `stream` under their load limit."""
    guarded = (view("assigned", person), LoadGuard(person, limit))
    return batch(stream, version, progress(f"{person} accepts"), inline=guarded)


def sequences(numbers: list[str]) -> list[int]:
    return sorted(int(number.rsplit("-", 1)[1]) for number in numbers)


class EventStoreContract:
    """What every event store promises. Subclasses give a `backend` fixture."""

    async def test_appended_events_load_in_version_order(self, backend: Backend) -> None:
        store = backend.store
        result = await store.append(batch("wo-1", 0, progress("a"), progress("b")))
        await store.append(batch("wo-1", 2, progress("c")))

        loaded = await store.load("wo-1")

        assert result.version == 2
        assert [e.version for e in result.events] == [1, 2]
        assert [e.version for e in loaded] == [1, 2, 3]
        assert [e.data["note"] for e in loaded] == ["a", "b", "c"]
        assert {(e.stream_id, e.tenant, e.project) for e in loaded} == {("wo-1", "acme", "sunny")}
        assert all(e.occurred_at.tzinfo is not None for e in loaded)
        assert loaded[0].metadata == META

    async def test_a_stream_never_appended_loads_empty(self, backend: Backend) -> None:
        assert await backend.store.load("wo-none") == []

    async def test_concurrent_appends_at_the_same_version_let_exactly_one_win(
        self, backend: Backend
    ) -> None:
        store = backend.store
        await store.append(batch("wo-1", 0, progress("a")))

        outcomes = await asyncio.gather(
            *(store.append(batch("wo-1", 1, progress(f"writer {i}"))) for i in range(5)),
            return_exceptions=True,
        )

        wins = [o for o in outcomes if not isinstance(o, BaseException)]
        conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
        assert len(wins) == 1 and len(conflicts) == 4
        assert [e.version for e in await store.load("wo-1")] == [1, 2]

    async def test_a_stale_expected_version_is_a_conflict_even_ahead_of_the_stream(
        self, backend: Backend
    ) -> None:
        store = backend.store
        await store.append(batch("wo-1", 0, progress("a")))

        with pytest.raises(ConcurrencyConflict):
            await store.append(batch("wo-1", 0, progress("again from zero")))
        with pytest.raises(ConcurrencyConflict):
            await store.append(batch("wo-1", 5, progress("from the future")))
        assert len(await store.load("wo-1")) == 1

    async def test_a_conflict_fails_only_its_own_command_in_a_group(self, backend: Backend) -> None:
        store = backend.store
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

    async def test_times_round_trip_as_utc(self, backend: Backend) -> None:
        shanghai_evening = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)
        await backend.store.append(batch("wo-1", 0, progress("a", at=shanghai_evening)))

        [event] = await backend.store.load("wo-1")

        assert event.occurred_at == shanghai_evening
        assert event.occurred_at.utcoffset() == timedelta(0)

    async def test_the_listing_row_follows_the_last_append_of_each_order(
        self, backend: Backend
    ) -> None:
        store = backend.store
        await store.append(batch("wo-1", 0, progress("a"), inline=(view(note="first"),)))
        later = view(reported_at=T0 + timedelta(minutes=1), note="second")
        await store.append(batch("wo-2", 0, progress("b"), inline=(later,)))
        await store.append(batch("wo-1", 1, progress("c"), inline=(view("assigned", "wang"),)))
        await store.append(batch("wo-1", 2, progress("without a view")))

        listed = await backend.listed("acme")

        assert [(row["note"], row["status"], row["version"]) for row in listed] == [
            ("second", "reported", 1),
            ("", "assigned", 2),
        ]
        assert await backend.listed("other-tenant") == []

    async def test_the_project_registry_row_is_read_through_the_directory(
        self, backend: Backend
    ) -> None:
        details = {"name": "阳光花园", "time_zone": "Asia/Shanghai", "households": 800}
        registered = ProjectView("acme", "sunny", "阳光花园", "Asia/Shanghai", 800, details)
        renamed = replace(
            registered, name="阳光花园二期", details={**details, "name": "阳光花园二期"}
        )
        assert not await backend.projects.exists("acme", "sunny")

        await backend.store.append(
            batch("project:acme:sunny", 0, progress("r"), inline=(registered,))
        )
        await backend.store.append(batch("project:acme:sunny", 1, progress("u"), inline=(renamed,)))

        found = await backend.projects.details("acme", "sunny")
        assert found is not None and found.name == "阳光花园二期" and found.households == 800
        assert await backend.projects.exists("acme", "sunny")
        assert await backend.projects.details("acme", "river") is None

    async def test_each_append_replaces_its_streams_timers_even_with_no_events(
        self, backend: Backend
    ) -> None:
        store = backend.store
        first = TimerRow("sla:1", "response", T0 + timedelta(hours=1), T0 + timedelta(hours=2), {})
        second = TimerRow(
            "sla:2", "resolution", T0 + timedelta(hours=3), T0 + timedelta(hours=4), {}
        )
        offer = TimerRow(
            "offer:1", "offer", T0 + timedelta(minutes=1), T0 + timedelta(minutes=1), {}
        )
        await store.append(batch("wo-1", 0, progress("a"), inline=(StreamTimers((first, offer)),)))
        await store.append(batch("wo-2", 0, progress("b"), inline=(StreamTimers((first,)),)))

        # A timer found stale: no event, the timers replaced all the same.
        await store.append(batch("wo-1", 1, inline=(StreamTimers((second,)),)))
        await store.append(batch("wo-2", 1, progress("c"), inline=(StreamTimers(()),)))
        await store.append(batch("wo-1", 1, progress("d")))  # no timers: left as they are

        assert await backend.timers("wo-1") == [("sla:2", second.fires_at)]
        assert await backend.timers("wo-2") == []
        assert len(await store.load("wo-1")) == 2

    async def test_one_group_writes_new_streams_timers_and_replaces_older_streams(
        self, backend: Backend
    ) -> None:
        store = backend.store
        old = TimerRow("sla:1", "response", T0 + timedelta(hours=1), T0 + timedelta(hours=2), {})
        new = TimerRow("sla:2", "response", T0 + timedelta(hours=3), T0 + timedelta(hours=4), {})
        await store.append(batch("wo-1", 0, progress("a"), inline=(StreamTimers((old,)),)))

        # One group: a new order, the older one moved on, a new order appended to twice.
        await asyncio.gather(
            store.append(batch("wo-2", 0, progress("b"), inline=(StreamTimers((new,)),))),
            store.append(batch("wo-1", 1, progress("c"), inline=(StreamTimers((new,)),))),
            store.append(batch("wo-3", 0, progress("d"), inline=(StreamTimers((old,)),))),
            store.append(batch("wo-3", 1, progress("e"), inline=(StreamTimers((new,)),))),
        )

        timers = {wo: await backend.timers(wo) for wo in ("wo-1", "wo-2", "wo-3")}
        assert timers == {wo: [("sla:2", new.fires_at)] for wo in ("wo-1", "wo-2", "wo-3")}

    async def test_an_acceptance_over_the_load_limit_is_refused_and_writes_nothing(
        self, backend: Backend
    ) -> None:
        store = backend.store
        for stream in ("wo-a", "wo-b"):
            await store.append(
                batch(stream, 0, progress("held"), inline=(view("assigned", "wang"),))
            )
        await store.append(batch("wo-c", 0, progress("offered"), inline=(view(),)))

        with pytest.raises(Conflict) as refused:
            await store.append(acceptance("wo-c", 1, "wang", limit=2))

        assert refused.value.code == "over_load_limit"
        assert refused.value.extra["limit"] == 2
        assert sorted(refused.value.extra["open_work_orders"]) == ["wo-a", "wo-b"]
        assert len(await store.load("wo-c")) == 1
        assert [row["status"] for row in await backend.listed("acme")].count("assigned") == 2
        accepted = await store.append(acceptance("wo-c", 1, "wang", limit=3))
        assert accepted.version == 2

    async def test_the_load_counts_only_the_persons_other_open_orders_of_their_tenant(
        self, backend: Backend
    ) -> None:
        store = backend.store
        closed = view("closed", "wang")
        theirs = view("assigned", "wang", tenant="other")
        await store.append(batch("wo-done", 0, progress("done"), inline=(closed,)))
        await store.append(batch("wo-other", 0, progress("x"), inline=(theirs,)))
        await store.append(batch("wo-li", 0, progress("y"), inline=(view("assigned", "li"),)))
        await store.append(batch("wo-1", 0, progress("z"), inline=(view("assigned", "wang"),)))

        # Accepting again an order they hold already does not count it twice.
        again = await store.append(acceptance("wo-1", 1, "wang", limit=1))
        other = await store.append(acceptance("wo-2", 0, "li", limit=2))

        assert again.version == 2 and other.version == 1

    async def test_simultaneous_acceptances_by_one_person_stay_within_the_limit(
        self, backend: Backend
    ) -> None:
        outcomes = await asyncio.gather(
            *(backend.store.append(acceptance(f"wo-{i}", 0, "wang", limit=2)) for i in range(6)),
            return_exceptions=True,
        )

        assert sum(isinstance(o, AppendResult) for o in outcomes) == 2
        refusals = [o for o in outcomes if isinstance(o, Conflict)]
        assert {o.code for o in refusals} == {"over_load_limit"} and len(refusals) == 4

    async def test_concurrent_reports_get_distinct_consecutive_numbers_in_every_place(
        self, backend: Backend
    ) -> None:
        outcomes = await asyncio.gather(*(backend.store.append(report(n)) for n in range(12)))

        numbers = [o.number for o in outcomes if o.number is not None]
        assert sequences(numbers) == list(range(1, 13))
        assert all(n.startswith("SG-20261201-") for n in numbers)
        assert [o.events[0].data["number"] for o in outcomes] == numbers
        listed = await backend.listed("acme")
        assert sorted(row["number"] for row in listed) == sorted(numbers)

    async def test_each_project_and_local_day_counts_from_one(self, backend: Backend) -> None:
        batches = [
            report(1, project="sunny"),
            report(2, project="river"),
            report(3, project="sunny", day=date(2026, 12, 2)),
            report(4, project="sunny"),
        ]

        outcomes = await asyncio.gather(*(backend.store.append(b) for b in batches))

        assert [o.number for o in outcomes] == [
            "SG-20261201-0001",
            "SG-20261201-0001",
            "SG-20261202-0001",
            "SG-20261201-0002",
        ]

    async def test_an_append_that_fails_gives_back_its_number(self, backend: Backend) -> None:
        """A report whose stream was taken (a lost race) writes nothing, its number
        included; the group's other reports are numbered without it."""
        store = backend.store
        taken = report(0)
        assert isinstance(await store.append(taken), AppendResult)
        loser = replace(report(1), stream_id=taken.stream_id)

        outcomes = await asyncio.gather(
            *(store.append(b) for b in (report(2), loser, report(3))), return_exceptions=True
        )

        assert isinstance(outcomes[1], ConcurrencyConflict)
        numbers = [o.number for o in outcomes if isinstance(o, AppendResult) and o.number]
        assert sequences(numbers) == [2, 3]


class IdempotencyStoreContract:
    """What every idempotency store promises: a record kept with its command's append."""

    async def test_a_repeated_key_returns_the_first_result_and_appends_nothing(
        self, backend: Backend
    ) -> None:
        store = backend.store
        first = await store.append(batch("wo-1", 0, progress("a"), key="key-1"))
        again = await store.append(batch("wo-1", 0, progress("a"), key="key-1"))

        assert first.duplicate_of is None and len(first.events) == 1
        assert again.duplicate_of is not None and again.duplicate_of.response == {"ok": True}
        assert again.events == ()
        assert len(await store.load("wo-1")) == 1
        stored = await store.idempotent_result("acme", "cs-1", "key-1")
        assert stored is not None and stored.stream_id == "wo-1"
        assert stored.effect is Effect.APPLIED and stored.fingerprint == "fp"

    async def test_concurrent_duplicates_of_one_command_append_once(self, backend: Backend) -> None:
        store = backend.store
        outcomes = await asyncio.gather(
            *(store.append(batch("wo-1", 0, progress("a"), key="same")) for _ in range(5)),
            return_exceptions=True,
        )

        results = [o for o in outcomes if isinstance(o, AppendResult)]
        assert len(results) == 5
        assert sum(1 for o in results if o.duplicate_of is None) == 1
        assert len(await store.load("wo-1")) == 1

    async def test_a_group_replays_exactly_its_stored_keys_among_new_ones(
        self, backend: Backend
    ) -> None:
        store = backend.store
        for n in (1, 3, 5):
            await store.append(batch(f"wo-{n}", 0, progress(f"first {n}"), key=f"key-{n}"))

        # Six keys in one group (the lookup pads them to eight), three of them stored.
        outcomes = await asyncio.gather(
            *(
                store.append(batch(f"wo-{n}", 0, progress(f"again {n}"), key=f"key-{n}"))
                for n in range(1, 7)
            )
        )

        replayed = [n for n, o in zip(range(1, 7), outcomes, strict=True) if o.duplicate_of]
        assert replayed == [1, 3, 5]
        assert [len(await store.load(f"wo-{n}")) for n in range(1, 7)] == [1] * 6
        assert [e.data for e in await store.load("wo-2")] == [progress("again 2").data]

    async def test_the_same_key_of_two_callers_is_two_commands(self, backend: Backend) -> None:
        store = backend.store
        mine = record("wo-1", "key-1", "cs-li", {"who": "li"})
        theirs = record("wo-2", "key-1", "cs-zhao", {"who": "zhao"})

        first = await store.append(replace(batch("wo-1", 0, progress("a")), idempotency=mine))
        second = await store.append(replace(batch("wo-2", 0, progress("b")), idempotency=theirs))

        assert first.duplicate_of is None and second.duplicate_of is None
        found = [
            await store.idempotent_result("acme", who, "key-1") for who in ("cs-li", "cs-zhao")
        ]
        assert [r.response if r else None for r in found] == [{"who": "li"}, {"who": "zhao"}]
        assert await store.idempotent_result("acme", "cs-wu", "key-1") is None

    async def test_an_append_refused_keeps_no_record_so_the_command_may_run_again(
        self, backend: Backend
    ) -> None:
        store = backend.store
        await store.append(batch("wo-1", 0, progress("a")))

        with pytest.raises(ConcurrencyConflict):
            await store.append(batch("wo-1", 0, progress("stale"), key="key-1"))
        assert await store.idempotent_result("acme", "cs-1", "key-1") is None

        retried = await store.append(batch("wo-1", 1, progress("fresh"), key="key-1"))
        assert retried.duplicate_of is None and retried.version == 2

    async def test_a_repeated_key_in_one_group_replays_the_first_number_and_takes_none(
        self, backend: Backend
    ) -> None:
        store = backend.store
        first, again = report(1, key="k-1"), report(2, key="k-1")
        later = report(3)

        outcomes = await asyncio.gather(*(store.append(b) for b in (first, again, later)))

        assert outcomes[0].number == "SG-20261201-0001"
        assert outcomes[1].duplicate_of is not None
        assert outcomes[1].duplicate_of.response["number"] == "SG-20261201-0001"
        assert outcomes[2].number == "SG-20261201-0002"
        stored = await store.idempotent_result("acme", "cs-1", "k-1")
        assert stored is not None and stored.response["number"] == "SG-20261201-0001"
