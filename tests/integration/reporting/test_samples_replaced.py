"""A changed order's old KPI samples are deleted by their key, drawn again from its stored facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.adapters.samples import SAMPLE_COLUMNS, SampleTally
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.projector import apply_events
from tests.integration.reporting.scripted_week import week
from tests.unit.reporting.histories import TENANT
from tests.unit.reporting.support import facts_of


def _stored(conn: Connection, generation: int) -> list[tuple[Any, ...]]:
    columns = [t.kpi_samples.c[name] for name in SAMPLE_COLUMNS]
    query = select(*columns).where(t.kpi_samples.c.generation == generation)
    return sorted(tuple(row) for row in conn.execute(query))


async def test_an_order_projected_event_by_event_keeps_only_the_samples_its_facts_draw(
    store: ReadModelStore,
) -> None:
    events, _ = week()
    # One event a transaction: each change to an order deletes the samples it moved.
    for sequence, raw in enumerate(events, start=1):
        await apply_events(store, "live", [facts_of(raw)], sequence)

    orders, _ = await store.facts(TENANT)
    generation = await store.current_generation()
    tally = SampleTally(generation)
    tally.add([(None, order) for order in orders])
    drawn = sorted(tally.rows().fresh)  # order, KPI and position first: unique
    assert len(drawn) > len(orders), "the week's orders draw several samples each"
    assert await store.database.run(_stored, generation) == drawn
