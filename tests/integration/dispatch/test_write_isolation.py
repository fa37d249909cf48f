"""A write the database refuses fails only its own command, never its group's neighbours.

The burst goes to the group commit directly (the event store's `append`), past any
validation of the HTTP edge, so the storage layer itself is what keeps the failure
apart. Run on SQLite and (with TEST_DATABASE_URL) PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.service_layer.ports import AppendBatch, AppendResult, NewEvent
from shared.errors import InvalidInput
from shared.events.recorded import EventMetadata

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
BURST = 64
EVERY = 8


def report(number: int, *, refused: bool, sqlite: bool) -> AppendBatch:
    """A new work order's first event; `refused` makes it carry what the database refuses:
    an integer past 64 bits on SQLite, a NUL character in text on PostgreSQL."""
    event = NewEvent(
        uuid.uuid4(),
        "workorder.reported",
        2**64 if refused and sqlite else 1,
        T0,
        {"description": f"leak {number}"},
    )
    stream = f"wo-{number}\x00" if refused and not sqlite else f"wo-{number}"
    actor = EventMetadata(actor="cs-1", correlation_id=f"burst-{number}")
    return AppendBatch(stream, 0, "acme", "sunny", (event,), actor)


async def test_a_refused_value_fails_only_its_own_command_in_a_burst(
    store: SqlEventStore,
) -> None:
    sqlite = store.engine.dialect.name == "sqlite"
    refused = {n for n in range(BURST) if n % EVERY == EVERY - 1}
    batches = [report(n, refused=n in refused, sqlite=sqlite) for n in range(BURST)]

    outcomes = await asyncio.gather(*(store.append(b) for b in batches), return_exceptions=True)

    written = {n for n, o in enumerate(outcomes) if isinstance(o, AppendResult)}
    answered_422 = {
        n
        for n, o in enumerate(outcomes)
        if isinstance(o, InvalidInput) and o.status == 422 and o.code == "unstorable_value"
    }
    assert written == set(range(BURST)) - refused
    assert answered_422 == refused
    async with store.engine.connect() as conn:
        streams = set((await conn.scalars(select(t.events.c.stream_id).distinct())).all())
        outbox = await conn.scalar(select(func.count()).select_from(t.outbox))
    assert streams == {f"wo-{n}" for n in written}
    assert outbox == BURST - len(refused)
