"""Work-order numbers are allocated in the append's transaction: never twice in a project.

Bursts go to the group commit directly (the event store's `append`), so many reports are
committed together in one transaction, and through two stores on one database, as two
dispatch processes would. Run on SQLite and (with TEST_DATABASE_URL) PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.domain.workorder import Numbering
from services.dispatch.service_layer.context import Effect
from services.dispatch.service_layer.ports import (
    AppendBatch,
    AppendResult,
    IdempotencyRecord,
    NewEvent,
    WorkOrderView,
)
from shared.database import create_engine
from shared.events.recorded import EventMetadata

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)
BURST = 48


def report(
    n: int, *, project: str = "sunny", day: date = DAY, key: str | None = None
) -> AppendBatch:
    """A new work order's report, to be numbered in `project` on local `day`."""
    stream = str(uuid.uuid4())
    event = NewEvent(uuid.uuid4(), "workorder.reported", 1, T0, {"description": f"leak {n}"})
    view = WorkOrderView(
        tenant="acme",
        project=project,
        kind="repair",
        category="plumbing",
        urgency="normal",
        status="reported",
        owner="cs-1",
        assignee=None,
        reporter_resident_id=None,
        building=None,
        reported_at=T0,
        summary={"description": f"leak {n}"},
    )
    record = (
        IdempotencyRecord("acme", "cs-1", key, "fp", stream, Effect.CREATED, {}) if key else None
    )
    return AppendBatch(
        stream,
        0,
        "acme",
        project,
        (event,),
        EventMetadata(actor="cs-1", correlation_id=f"burst-{n}", idempotency_key=key),
        idempotency=record,
        work_order_view=view,
        numbering=Numbering("SG", day),
    )


def sequences(numbers: list[str]) -> list[int]:
    return sorted(int(number.rsplit("-", 1)[1]) for number in numbers)


async def stored_numbers(store: SqlEventStore) -> dict[str, str]:
    """The number in each stored report event and listing row, by work order."""
    async with store.engine.connect() as conn:
        events = (await conn.execute(select(t.events.c.stream_id, t.events.c.data))).all()
        listed = dict(
            (await conn.execute(select(t.work_orders.c.id, t.work_orders.c.number))).all()
        )
    in_events = {stream: data["number"] for stream, data in events}
    assert in_events == listed
    return in_events


async def test_concurrent_reports_in_one_project_get_distinct_consecutive_numbers(
    store: SqlEventStore,
) -> None:
    outcomes = await asyncio.gather(*(store.append(report(n)) for n in range(BURST)))

    numbers = [o.number for o in outcomes if o.number is not None]
    assert len(numbers) == BURST
    assert sequences(numbers) == list(range(1, BURST + 1))
    assert all(n.startswith("SG-20261201-") for n in numbers)
    stored = await stored_numbers(store)
    assert sorted(stored.values()) == sorted(numbers)


async def test_two_processes_on_one_database_never_give_a_number_twice(
    store: SqlEventStore, database_url: str
) -> None:
    other_engine = create_engine(database_url)
    other = SqlEventStore(other_engine)
    try:
        appends = [(store if n % 2 else other).append(report(n)) for n in range(BURST)]
        outcomes = await asyncio.gather(*appends)
    finally:
        await other.close()
        await other_engine.dispose()

    numbers = [o.number for o in outcomes if o.number is not None]
    assert sequences(numbers) == list(range(1, BURST + 1))


async def test_each_project_and_local_day_counts_from_one(store: SqlEventStore) -> None:
    batches = [
        report(1, project="sunny"),
        report(2, project="river"),
        report(3, project="sunny", day=date(2026, 12, 2)),
        report(4, project="sunny"),
    ]

    outcomes = await asyncio.gather(*(store.append(b) for b in batches))

    assert [o.number for o in outcomes] == [
        "SG-20261201-0001",
        "SG-20261201-0001",
        "SG-20261202-0001",
        "SG-20261201-0002",
    ]


async def test_a_repeated_key_in_one_group_replays_the_first_number_and_takes_none(
    store: SqlEventStore,
) -> None:
    first, again = report(1, key="k-1"), report(2, key="k-1")
    later = report(3)

    outcomes = await asyncio.gather(*(store.append(b) for b in (first, again, later)))

    assert outcomes[0].number == "SG-20261201-0001"
    assert outcomes[1].duplicate_of is not None
    assert outcomes[1].duplicate_of.response["number"] == "SG-20261201-0001"
    assert outcomes[2].number == "SG-20261201-0002"
    stored = await store.idempotent_result("acme", "cs-1", "k-1")
    assert stored is not None and stored.response["number"] == "SG-20261201-0001"


async def test_an_append_that_fails_gives_back_its_number(store: SqlEventStore) -> None:
    """A report whose stream was taken (a lost race) writes nothing, its number included;
    the group's other reports are numbered without it."""
    taken = report(0)
    assert isinstance(await store.append(taken), AppendResult)
    loser = AppendBatch(**{**_fields(report(1)), "stream_id": taken.stream_id})

    outcomes = await asyncio.gather(
        *(store.append(b) for b in (report(2), loser, report(3))), return_exceptions=True
    )

    assert isinstance(outcomes[1], Exception)
    numbers = [o.number for o in outcomes if isinstance(o, AppendResult) and o.number]
    assert sequences(numbers) == [2, 3]


def _fields(batch: AppendBatch) -> dict[str, object]:
    return {name: getattr(batch, name) for name in AppendBatch.__dataclass_fields__}
