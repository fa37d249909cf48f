"""Comparing a projection's figures with the oracle's, KPI by KPI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import orjson

from services.reporting.domain.facts import EventFact, OrderFacts, ProjectFacts
from services.reporting.domain.kpis import KPIS, Scope, Unit, compute
from services.reporting.domain.periods import Period
from services.reporting.service_layer.projection import event_fact
from shared.envelope import Envelope
from tests.unit.reporting.histories import TENANT
from tests.unit.reporting.oracle import Oracle, nearest_rank

PERIODS = (
    (date(2026, 11, 1), date(2026, 12, 1)),
    (date(2026, 11, 9), date(2026, 11, 16)),
    (date(2026, 10, 1), date(2027, 1, 1)),
)
SCOPES = ({"sunny"}, {"river"}, {"sunny", "river"})


def facts_of(raw: Mapping[str, object]) -> EventFact:
    """A raw envelope dict as the projector sees it (parsed like a message off the bus)."""
    return event_fact(Envelope.from_json(orjson.dumps(raw)))


def oracle_figures(
    events: list[dict[str, object]], now: datetime
) -> dict[tuple[str, str, int], object]:
    """Every KPI for every scope and period, as the oracle works them out."""
    oracle = Oracle(events)
    figures: dict[tuple[str, str, int], object] = {}
    for scope_names in SCOPES:
        scope = {(TENANT, p) for p in scope_names}
        label = ",".join(sorted(scope_names))
        for i, (start, end) in enumerate(PERIODS):
            for name in KPIS:
                figures[(label, name, i)] = oracle_figure(oracle, name, scope, start, end)
    return figures


def oracle_figure(
    oracle: Oracle, name: str, scope: set[tuple[str, str]], start: date, end: date
) -> object:
    """One KPI's figure as the oracle works it out: the open orders for the backlog,
    (p50, p90, p99) for a duration, the count for a counting KPI, else (numerator,
    denominator)."""
    kpi = KPIS[name]
    if name == "backlog":
        return oracle.backlog(scope)
    if kpi.unit is Unit.SECONDS:
        values = oracle.durations(name, scope, start, end)
        return tuple(nearest_rank(values, p) for p in (50, 90, 99))
    if kpi.unit is Unit.COUNT:
        return oracle.count(name, scope, start, end)
    return oracle.ratio(name, scope, start, end)


def projected_figures(
    orders: Iterable[OrderFacts], projects: Mapping[tuple[str, str], ProjectFacts], now: datetime
) -> dict[tuple[str, str, int], object]:
    """The same figures from projected facts, through the domain's `compute`."""
    orders = list(orders)
    figures: dict[tuple[str, str, int], object] = {}
    for scope_names in SCOPES:
        scope = Scope(frozenset((TENANT, p) for p in scope_names))
        label = ",".join(sorted(scope_names))
        for i, (start, end) in enumerate(PERIODS):
            for name, kpi in KPIS.items():
                value = compute(kpi, orders, projects, scope, Period(start, end), now)
                if name == "backlog":
                    figures[(label, name, i)] = value.numerator
                elif kpi.unit is Unit.SECONDS:
                    figures[(label, name, i)] = (value.p50, value.p90, value.p99)
                elif kpi.unit is Unit.COUNT:
                    figures[(label, name, i)] = value.numerator
                else:
                    figures[(label, name, i)] = (value.numerator, value.denominator)
    return figures
