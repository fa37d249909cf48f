"""Work-order numbers are allocated in the append's transaction: never twice in a project.

Bursts go to the group commit directly (the event store's `append`), so many reports are
committed together in one transaction, and through two stores on one database, as two
dispatch processes would. Run on SQLite and (with TEST_DATABASE_URL) PostgreSQL; what
every store promises of numbers is in `store_contracts`.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from shared.database import create_engine
from tests.integration.dispatch.store_contracts import report, sequences

BURST = 48
"""Reports appended at once: more than the contract's burst, to fill several groups."""


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
