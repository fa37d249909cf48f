"""Property: however events are delivered, the projection equals the oracle."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.reporting.domain.facts import OrderFacts
from services.reporting.service_layer.projection import WorkingSet, project
from tests.unit.reporting.histories import random_history
from tests.unit.reporting.support import facts_of, oracle_figures, projected_figures

START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2027, 1, 15, tzinfo=UTC)


def _restart(working: WorkingSet) -> WorkingSet:
    # What survives a restart is what was committed: the rows, serialised and read back.
    return WorkingSet(
        positions=dict(working.positions),
        orders={k: OrderFacts.from_json(v.to_json()) for k, v in working.orders.items()},
        projects=dict(working.projects),
        pending=dict(working.pending),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), history=random_history(START))
def test_any_delivery_order_with_duplicates_and_a_restart_equals_the_oracle(
    data: st.DataObject, history: list[dict[str, object]]
) -> None:
    # Deliveries: every event at least once, some twice, shuffled (a redelivery or a
    # retry one at a time reorders a work order's events), cut into batches, with a
    # restart of the projector somewhere in the middle.
    extra = data.draw(st.lists(st.sampled_from(history), max_size=len(history)))
    deliveries = data.draw(st.permutations(history + extra))
    restart_at = data.draw(st.integers(0, len(deliveries)))
    working = WorkingSet()
    for i, raw in enumerate(deliveries):
        if i == restart_at:
            working = _restart(working)
        project(working, [facts_of(raw)])
    assert not working.pending, "every gap filled once all events arrived"
    assert projected_figures(working.orders.values(), working.projects, NOW) == oracle_figures(
        history, NOW
    )


def test_a_duplicate_is_skipped_and_a_gap_waits() -> None:
    history = _fixed_history()
    order_events = [e for e in history if str(e["subject"]).startswith("wo-")]
    first_order = [e for e in order_events if e["subject"] == order_events[0]["subject"]]
    working = WorkingSet()
    if len(first_order) >= 2:
        project(working, [facts_of(first_order[1])])
        assert working.pending and not working.orders
    project(working, [facts_of(e) for e in first_order] + [facts_of(first_order[0])])
    assert not working.pending
    assert working.positions[str(first_order[0]["subject"])] == len(first_order)
    assert working.duplicates >= 1


def _fixed_history() -> list[dict[str, object]]:
    from tests.unit.reporting.histories import OrderStory

    at = START
    story = OrderStory("sunny", "repair", at).reported(at)
    story.emit("workorder.assigned", at, assignee="tech-a")
    story.emit("workorder.arrived", at, technician="tech-a")
    return story.events
