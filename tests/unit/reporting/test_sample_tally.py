"""A rebuild's sample tally: its roll-up summed over batches is what the batches, each
written with its own roll-up, add up to in the table."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.reporting.adapters.samples import SampleTally, sample_rows
from services.reporting.service_layer.projection import WorkingSet, project
from tests.unit.reporting.histories import random_history
from tests.unit.reporting.support import facts_of

START = datetime(2026, 11, 1, tzinfo=UTC)
GENERATION = 7


def _summed(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """Rows of (generation, *key, count) as the table holds them after upserts that add."""
    table: Counter[tuple[Any, ...]] = Counter()
    for *key, count in rows:
        table[tuple(key)] += count
    return +table  # a count summed to nothing leaves no row to compare


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), history=random_history(START))
def test_a_tally_over_batches_writes_what_the_batches_written_one_by_one_sum_to(
    data: st.DataObject, history: list[dict[str, object]]
) -> None:
    working = WorkingSet()
    project(working, [facts_of(raw) for raw in history])
    changes = [(None, working.orders[k]) for k in sorted(working.orders)]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(changes)), max_size=4)))
    batches = [changes[a:b] for a, b in zip([0, *cuts], [*cuts, len(changes)], strict=True)]

    tally = SampleTally(GENERATION)
    one_by_one = [sample_rows(GENERATION, batch) for batch in batches]
    for batch in batches:
        tally.add(batch)
    drawn = tally.rows()

    assert drawn.fresh == [row for rows in one_by_one for row in rows.fresh]
    assert not drawn.stale
    rollup = [row for rows in one_by_one for row in rows.rollup]
    measures = [row for rows in one_by_one for row in rows.measures]
    assert _summed(drawn.rollup) == _summed(rollup)
    assert _summed(drawn.measures) == _summed(measures)
    # Each row once: the tally's keys are distinct.
    assert len(drawn.rollup) == len(_summed(drawn.rollup))
    assert len(drawn.measures) == len(_summed(drawn.measures))
