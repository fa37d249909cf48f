"""The KPI questions the API and the KPI stream ask, answered from the read model.

Handlers take their source of facts as an argument (`FactSource`: the SQL store in the
service, a list in tests) and leave the arithmetic to `domain.kpis`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Protocol

from services.reporting.domain.facts import OrderFacts, ProjectFacts
from services.reporting.domain.kpis import (
    DIMENSIONS,
    KPIS,
    Kpi,
    KpiValue,
    Sample,
    Scope,
    aggregate,
    grouped,
    households,
    order_dimensions,
    samples_in,
    series,
)
from services.reporting.domain.periods import Granularity, Period
from shared.auth import Principal, Role
from shared.clock import utc
from shared.errors import Forbidden, InvalidInput, NotFound

# The widest offsets of any time zone: a period's facts in any project lie inside these.
_EARLIEST_OFFSET = timedelta(hours=14)
_LATEST_OFFSET = timedelta(hours=12)

KPI_READERS = frozenset(
    {
        Role.HQ_QUALITY,
        Role.PROJECT_MANAGER,
        Role.SUPERVISOR,
        Role.CUSTOMER_SERVICE,
        Role.DISPATCHER,
        Role.INTEGRATOR,
    }
)
"""Roles that read KPIs: staff and headquarters. Residents and technicians see only their
own orders in dispatch, and a figure is made of other people's orders."""


class FactSource(Protocol):
    """Where the facts come from (the SQL read model)."""

    async def facts(
        self,
        tenant: str,
        projects: frozenset[str] | None,
        low: datetime | None,
        high: datetime | None,
    ) -> tuple[list[OrderFacts], dict[tuple[str, str], ProjectFacts]]:
        """Orders that may have samples in `[low, high)` (and open ones), and projects' facts."""
        ...


@dataclass(frozen=True)
class KpiQuery:
    """Who asks about which projects, period and dimension filters."""

    tenant: str
    projects: frozenset[str] | None
    """None: every project of the tenant (headquarters)."""
    period: Period
    now: datetime
    filters: Mapping[str, str] = field(default_factory=dict)


def kpi_named(name: str) -> Kpi:
    """The KPI called `name`, or 404 problem details."""
    try:
        return KPIS[name]
    except KeyError:
        raise NotFound(
            f"no KPI named {name!r}; known: {', '.join(KPIS)}", code="unknown_kpi"
        ) from None


def scoped_query(
    principal: Principal,
    project: str | None,
    period: Period,
    now: datetime,
    filters: Mapping[str, str],
) -> KpiQuery | None:
    """The query a caller may ask; None when `project` is not theirs to see (an empty answer).

    As in dispatch: a project manager sees the projects of their token, headquarters
    (a token for every project) the whole group. Residents and technicians get 403.
    """
    if principal.role not in KPI_READERS:
        raise Forbidden(
            f"a {principal.role.value} may not read KPIs", code="role_not_allowed",
            role=principal.role.value,
        )  # fmt: skip
    unknown = sorted(set(filters) - set(DIMENSIONS))
    if unknown:
        raise InvalidInput(f"unknown filters {unknown}", code="invalid_filter")
    if project is not None:
        if not principal.can_access(principal.tenant, project):
            return None
        projects: frozenset[str] | None = frozenset({project})
    else:
        projects = None if principal.all_projects else frozenset(principal.projects)
    return KpiQuery(principal.tenant, projects, period, utc(now), dict(filters))


async def _load(
    source: FactSource, query: KpiQuery
) -> tuple[list[OrderFacts], dict[tuple[str, str], ProjectFacts], Scope]:
    low = datetime.combine(query.period.start, time(0)).replace(tzinfo=query.now.tzinfo)
    high = datetime.combine(query.period.end, time(0)).replace(tzinfo=query.now.tzinfo)
    orders, projects = await source.facts(
        query.tenant, query.projects, low - _EARLIEST_OFFSET, high + _LATEST_OFFSET
    )
    names = query.projects
    if names is None:
        names = frozenset({o.project for o in orders} | {p for _, p in projects})
    scope = Scope(frozenset((query.tenant, p) for p in names), dict(query.filters))
    return orders, projects, scope


@dataclass(frozen=True)
class Figures:
    """Figures of several KPIs over one scope, with the scope that was used."""

    projects: tuple[str, ...]
    households: int
    values: Sequence[KpiValue]


async def figures(source: FactSource, query: KpiQuery | None, names: Sequence[str]) -> Figures:
    """The figures of the KPIs `names` over the query's scope and period."""
    kpis = [kpi_named(n) for n in names]
    if query is None:
        return Figures((), 0, [aggregate(k, []) for k in kpis])
    orders, projects, scope = await _load(source, query)
    count = households(projects, scope)
    values = [
        aggregate(k, samples_in(k, orders, projects, scope, query.period, query.now), count)
        for k in kpis
    ]
    return Figures(tuple(sorted(p for _, p in scope.projects)), count, values)


async def figure_series(
    source: FactSource, query: KpiQuery | None, name: str, granularity: Granularity
) -> list[tuple[str, KpiValue]]:
    """A KPI per hour, day, week or month of the period (in each project's time zone)."""
    kpi = kpi_named(name)
    if query is None:
        return []
    orders, projects, scope = await _load(source, query)
    found = samples_in(kpi, orders, projects, scope, query.period, query.now)
    return series(kpi, found, projects, scope, granularity)


async def figure_groups(
    source: FactSource, query: KpiQuery | None, name: str, dimension: str
) -> list[tuple[str | None, KpiValue]]:
    """A KPI per project, building, kind, category or technician."""
    kpi = kpi_named(name)
    if dimension not in DIMENSIONS:
        raise InvalidInput(
            f"group_by must be one of {', '.join(DIMENSIONS)}", code="invalid_dimension"
        )
    if query is None:
        return []
    orders, projects, scope = await _load(source, query)
    found = samples_in(kpi, orders, projects, scope, query.period, query.now)
    return grouped(kpi, found, projects, scope, dimension)


async def figure_orders(source: FactSource, query: KpiQuery | None, name: str) -> list[Sample]:
    """The samples (and so the orders) behind a figure, oldest first."""
    kpi = kpi_named(name)
    if query is None:
        return []
    orders, projects, scope = await _load(source, query)
    found = samples_in(kpi, orders, projects, scope, query.period, query.now)
    return sorted(found, key=lambda s: (s.at, s.order_id))


async def at_risk(
    source: FactSource, query: KpiQuery | None, limit: int = 50
) -> list[tuple[OrderFacts, str, datetime, bool]]:
    """Open orders whose running clocks were warned or breached: (order, clock, due, breached)."""
    if query is None:
        return []
    orders, _, scope = await _load(source, query)
    found = []
    for order in orders:
        if (order.tenant, order.project) not in scope.projects or not order.is_open:
            continue
        dimensions = order_dimensions(order)
        if any(dimensions.get(k) != v for k, v in query.filters.items() if k != "project"):
            continue
        for cycle in order.clocks:
            if cycle.outcome == "running" and (cycle.warned or cycle.breached_at is not None):
                found.append((order, cycle.clock, cycle.due_at, cycle.breached_at is not None))
    found.sort(key=lambda item: item[2])
    return found[:limit]
