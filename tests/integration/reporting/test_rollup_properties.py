"""Property: the pre-aggregated figures equal the figures drawn sample by sample.

Random histories (teams on some assignments, a project in a time zone off whole hours or
with summer time, notify's deliveries) are delivered to the SQL store shuffled, with duplicates, in batches;
then every KPI's figure, filtered figures, series at every granularity and groups by every
dimension, as the service layer answers them (roll-up first), must equal what the
domain's sample functions give over the projected facts (the path every KPI was defined by);
the notification outcomes must equal the oracle's count.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.reporting.adapters.store import ReadModelStore
from services.reporting.domain.facts import OrderFacts, ProjectFacts
from services.reporting.domain.kpis import (
    DIMENSIONS,
    KPIS,
    Sample,
    Scope,
    aggregate,
    grouped,
    households,
    samples_in,
    series,
)
from services.reporting.domain.periods import Granularity, Period
from services.reporting.service_layer.projector import apply_events
from services.reporting.service_layer.queries import (
    KpiQuery,
    figure_groups,
    figure_orders,
    figure_series,
    figures,
    notifications,
)
from tests.unit.reporting.histories import TENANT, delivery_story, random_history
from tests.unit.reporting.oracle import Oracle
from tests.unit.reporting.support import PERIODS, facts_of

START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2027, 1, 15, tzinfo=UTC)
ZONES = ("Asia/Shanghai", "America/New_York", "Asia/Kolkata")


@st.composite
def varied_history(draw: st.DrawFn) -> list[dict[str, object]]:
    """A random history whose river project lives in a drawn zone and some assignments name a team."""
    history = copy.deepcopy(draw(random_history(START)))
    for _ in range(draw(st.integers(0, 4))):
        history.extend(draw(delivery_story(draw(st.sampled_from(["sunny", "river"])), START)))
    zone = draw(st.sampled_from(ZONES))
    for event in history:
        data = event["data"]
        assert isinstance(data, dict)
        if event["type"] == "project.registered.v1" and event["project"] == "river":
            data["details"]["time_zone"] = zone
        if event["type"] in ("workorder.assigned.v1", "workorder.reassigned.v1"):
            team = draw(st.sampled_from([None, "team-east", "team-west"]))
            if team is not None:
                data["team"] = team
    return history


async def _project(
    store: ReadModelStore, deliveries: list[dict[str, object]], cuts: list[int]
) -> None:
    generation = await store.prepare_generation()
    edges = sorted({0, len(deliveries), *(c for c in cuts if 0 < c < len(deliveries))})
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        batch = [facts_of(raw) for raw in deliveries[low:high]]
        await apply_events(store, "property", batch, i + 1, generation=generation)
    old = await store.switch_generation(generation, "property", len(edges))
    await store.drop_generation(old)


def _scope(
    orders: list[OrderFacts],
    projects: Mapping[tuple[str, str], ProjectFacts],
    names: frozenset[str] | None,
    filters: Mapping[str, str],
) -> Scope:
    if names is None:
        names = frozenset({o.project for o in orders} | {p for _, p in projects})
    if "project" in filters:
        names = names & {filters["project"]}
    return Scope(frozenset((TENANT, p) for p in names), dict(filters))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=varied_history(), data=st.data())
async def test_rolled_up_figures_series_and_groups_equal_the_sample_path(
    store: ReadModelStore, history: list[dict[str, object]], data: st.DataObject
) -> None:
    extra = data.draw(st.lists(st.sampled_from(history), max_size=len(history) // 3))
    deliveries = data.draw(st.permutations(history + extra))
    cuts = data.draw(st.lists(st.integers(0, len(deliveries)), max_size=6))
    await _project(store, deliveries, cuts)
    orders, projects = await store.facts(TENANT)
    start, end = data.draw(st.sampled_from(PERIODS))
    period = Period(start, end)
    names = data.draw(st.sampled_from([None, frozenset({"sunny"}), frozenset({"river"})]))
    dimension = data.draw(st.sampled_from(DIMENSIONS))
    seen = {str(getattr(o, dimension)) for o in orders if getattr(o, dimension) is not None}
    value = data.draw(st.sampled_from(sorted(seen | {"sunny", "b1"})))
    filters = data.draw(st.sampled_from([{}, {dimension: value}]))
    query = KpiQuery(TENANT, names, period, NOW, filters)
    scope = _scope(orders, projects, names, filters)

    def drawn(kpi_name: str) -> list[Sample]:
        return samples_in(KPIS[kpi_name], orders, projects, scope, period, NOW)

    count = households(projects, scope)
    answered = await figures(store, query, list(KPIS))
    assert answered.households == count
    for figure in answered.values:
        assert figure == aggregate(KPIS[figure.kpi], drawn(figure.kpi), count), figure.kpi
    answered_notifications = await notifications(store, query)
    if any(k != "project" for k in filters):
        assert answered_notifications is None
    else:
        assert answered_notifications is not None
        by_channel = {k: dict(v.counts) for k, v in answered_notifications.by_channel.items()}
        assert by_channel == Oracle(history).notifications(set(scope.projects), start, end)
    granularity = data.draw(st.sampled_from(list(Granularity)))
    group_by = data.draw(st.sampled_from(DIMENSIONS))
    for name, kpi in KPIS.items():
        expected_series = series(kpi, drawn(name), projects, scope, granularity)
        assert await figure_series(store, query, name, granularity) == expected_series, name
        expected_groups = grouped(kpi, drawn(name), projects, scope, group_by)
        assert await figure_groups(store, query, name, group_by) == expected_groups, name
        behind = sorted(drawn(name), key=lambda s: (s.at, s.order_id))
        assert await figure_orders(store, query, name) == behind, name
