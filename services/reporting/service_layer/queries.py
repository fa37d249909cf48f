"""The KPI questions the API and the KPI stream ask, answered from the read model.

Handlers take their source of facts as an argument (`FactSource`: the SQL store in the
service, a list in tests) and leave the arithmetic to `domain.kpis`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, TypeVar

from services.reporting.domain.facts import OrderFacts, ProjectFacts
from services.reporting.domain.kpis import (
    DIMENSIONS,
    KPIS,
    Kpi,
    KpiValue,
    Sample,
    Scope,
    Tally,
    Unit,
    aggregate,
    figure,
    group_households,
    group_order,
    grouped,
    households,
    order_dimensions,
    samples_in,
    series,
    time_zone_of,
)
from services.reporting.domain.notifications import NotificationFigures, notification_figures
from services.reporting.domain.periods import Granularity, Period
from services.reporting.domain.rollup import (
    Counts,
    RollupRow,
    SampleCount,
    ScopePart,
    slot_bucket,
)
from shared.auth import Principal, Role
from shared.clock import utc
from shared.errors import Forbidden, InvalidInput, NotFound

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


T = TypeVar("T")


class ReadModelView(Protocol):
    """One consistent snapshot of the read model (`adapters.store.ReadView`)."""

    def open_orders(self, tenant: str, projects: frozenset[str] | None) -> list[OrderFacts]:
        """The facts of the open orders."""
        ...

    def order_numbers(self, order_ids: Collection[str]) -> dict[str, str]:
        """The number of each of these orders that has one."""
        ...

    def project_facts(
        self, tenant: str, projects: frozenset[str] | None
    ) -> tuple[dict[tuple[str, str], ProjectFacts], set[str]]:
        """Registered projects' facts and every project with samples."""
        ...

    def rollup(
        self, tenant: str, kpis: Sequence[str], parts: Sequence[ScopePart], by_slot: bool = False
    ) -> list[RollupRow]:
        """Pre-aggregated sample counts over each part's period."""
        ...

    def band_measures(
        self, tenant: str, kpi: str, band: int, parts: Sequence[ScopePart]
    ) -> list[tuple[float, int]]:
        """The measures of one band as (measure, count), ascending."""
        ...

    def notification_counts(
        self, tenant: str, parts: Sequence[ScopePart]
    ) -> list[tuple[str, str, str, int]]:
        """Notification events per channel, template and outcome."""
        ...

    def samples(
        self,
        tenant: str,
        kpi: str,
        parts: Sequence[ScopePart],
        filters: Mapping[str, str] | None = None,
    ) -> list[Sample]:
        """The samples of a KPI in the parts' periods."""
        ...

    def sample_counts(
        self,
        tenant: str,
        kpis: Sequence[str],
        parts: Sequence[ScopePart],
        filters: Mapping[str, str | None],
        group_by: str | None = None,
    ) -> list[SampleCount]:
        """The per-sample rows narrowed by `filters`, counted per group, KPI, label, hit, band."""
        ...

    def sample_band_measures(
        self,
        tenant: str,
        kpi: str,
        band: int,
        parts: Sequence[ScopePart],
        filters: Mapping[str, str | None],
    ) -> list[tuple[float, int]]:
        """The measures of one band among the narrowed per-sample rows, ascending."""
        ...


class FactSource(Protocol):
    """Where the figures come from (the SQL read model, `adapters.store.ReadModelStore`)."""

    async def read(self, work: Callable[[ReadModelView], T]) -> T:
        """Run `work` on one consistent snapshot."""
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
    """The KPI called `name`, or `NotFound`."""
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
    (a token for every project) the whole group. Residents and technicians are refused
    (`Forbidden`).
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


@dataclass(frozen=True)
class _Scoped:
    """A query's scope worked out: its projects, their facts, open orders and period parts."""

    scope: Scope
    projects: dict[tuple[str, str], ProjectFacts]
    open_orders: list[OrderFacts]
    parts: list[ScopePart]

    @property
    def rolled_up(self) -> bool:
        """Whether the roll-up answers exactly: no dimension filter, whole-hour bounds."""
        return not self.scope.filters and all(p.windows is not None for p in self.parts)


def _scoped(view: ReadModelView, query: KpiQuery) -> _Scoped:
    projects, sampled = view.project_facts(query.tenant, query.projects)
    open_orders = view.open_orders(query.tenant, query.projects)
    names = query.projects
    if names is None:
        names = frozenset(sampled | {p for _, p in projects} | {o.project for o in open_orders})
    if "project" in query.filters:
        names = names & {query.filters["project"]}
    # Projects in the same time zone share the period's instants: one part each.
    by_bounds: dict[tuple[datetime, datetime], set[str]] = {}
    for name in names:
        bounds = query.period.bounds(time_zone_of(projects, query.tenant, name))
        by_bounds.setdefault(bounds, set()).add(name)
    parts = [ScopePart(frozenset(n), low, high) for (low, high), n in sorted(by_bounds.items())]
    scope = Scope(frozenset((query.tenant, p) for p in names), dict(query.filters))
    return _Scoped(scope, projects, open_orders, parts)


def _samples(view: ReadModelView, query: KpiQuery, scoped: _Scoped, kpi: Kpi) -> list[Sample]:
    """The sample path: a KPI's samples in scope and period, from the per-sample rows."""
    if kpi.snapshot:
        return samples_in(
            kpi, scoped.open_orders, scoped.projects, scoped.scope, query.period, query.now
        )
    found = view.samples(query.tenant, kpi.name, scoped.parts, query.filters)
    return [s for s in found if scoped.scope.admits(s)]


def _tallies(
    view: ReadModelView,
    query: KpiQuery,
    scoped: _Scoped,
    kpis: Sequence[Kpi],
    group_by: str | None = None,
) -> dict[tuple[str | None, str], Tally]:
    """Tallies of KPIs that are not snapshots, for the scope or per value of `group_by`.

    Counted by the roll-up where it answers exactly (no filter, whole-hour bounds, grouped
    by project at most), else by the database over the per-sample rows: either way no
    sample is drawn into Python, and a percentile reads back only its band's measures.
    """
    names = [k.name for k in kpis]
    counts: dict[tuple[str | None, str], Counts] = {}
    rolled = scoped.rolled_up and group_by in (None, "project")
    if rolled:
        for row in view.rollup(query.tenant, names, scoped.parts):
            key = (row.project if group_by else None, row.kpi)
            counts.setdefault(key, Counts()).add(row.label, row.hit, row.band, row.samples)
    else:
        filters = dict(query.filters)
        for found in view.sample_counts(query.tenant, names, scoped.parts, filters, group_by):
            counts.setdefault((found.group, found.kpi), Counts()).add(
                found.label, found.hit, found.band, found.samples
            )
    tallies: dict[tuple[str | None, str], Tally] = {}
    for (group, name), counted in counts.items():
        kpi = KPIS[name]
        bands = {band for band, _ in counted.ranks(kpi)}
        measures = {
            band: _band_measures(view, query, scoped, name, band, group_by, group, rolled)
            for band in bands
        }
        tallies[(group, name)] = counted.tally(kpi, measures)
    return tallies


def _band_measures(
    view: ReadModelView,
    query: KpiQuery,
    scoped: _Scoped,
    kpi: str,
    band: int,
    group_by: str | None,
    group: str | None,
    rolled: bool,
) -> list[tuple[float, int]]:
    """One band's measures, from the source `_tallies` counted the group's samples in."""
    if rolled:
        parts = scoped.parts
        if group_by is not None:
            parts = [replace(p, projects=p.projects & {group or ""}) for p in parts]
            parts = [p for p in parts if p.projects]
        return view.band_measures(query.tenant, kpi, band, parts)
    filters: dict[str, str | None] = dict(query.filters)
    if group_by is not None:
        filters[group_by] = group
    return view.sample_band_measures(query.tenant, kpi, band, scoped.parts, filters)


@dataclass(frozen=True)
class Figures:
    """Figures of several KPIs over one scope, with the scope that was used."""

    projects: tuple[str, ...]
    households: int
    values: Sequence[KpiValue]


async def figures(source: FactSource, query: KpiQuery | None, names: Sequence[str]) -> Figures:
    """The figures of the KPIs `names` over the query's scope and period.

    Unfiltered figures come from the roll-up; filtered ones (and bounds off whole UTC
    hours) from the per-sample rows counted in the database; the backlog from the open
    orders.
    """
    kpis = [kpi_named(n) for n in names]
    if query is None:
        return Figures((), 0, [aggregate(k, []) for k in kpis])
    asked = query

    def work(view: ReadModelView) -> Figures:
        scoped = _scoped(view, asked)
        count = households(scoped.projects, scoped.scope)
        tallied = _tallies(view, asked, scoped, [k for k in kpis if not k.snapshot])
        values = []
        for kpi in kpis:
            if kpi.snapshot:
                values.append(aggregate(kpi, _samples(view, asked, scoped, kpi), count))
            else:
                values.append(figure(kpi, tallied.get((None, kpi.name), Tally()), count))
        return Figures(tuple(sorted(p for _, p in scoped.scope.projects)), count, values)

    return await source.read(work)


async def figure_series(
    source: FactSource, query: KpiQuery | None, name: str, granularity: Granularity
) -> list[tuple[str, KpiValue]]:
    """A KPI per hour, day, week or month of the period (in each project's time zone).

    Ratios and counts come from the roll-up's hour rows; durations (a percentile per
    bucket needs the bucket's measures) and filtered series from the per-sample rows.
    """
    kpi = kpi_named(name)
    if query is None:
        return []
    asked = query

    def work(view: ReadModelView) -> list[tuple[str, KpiValue]]:
        scoped = _scoped(view, asked)
        if scoped.rolled_up and not kpi.snapshot and kpi.unit is not Unit.SECONDS:
            points = _rolled_series(view, asked, scoped, kpi, granularity)
            if points is not None:
                return points
        found = _samples(view, asked, scoped, kpi)
        return series(kpi, found, scoped.projects, scoped.scope, granularity)

    return await source.read(work)


def _rolled_series(
    view: ReadModelView, query: KpiQuery, scoped: _Scoped, kpi: Kpi, granularity: Granularity
) -> list[tuple[str, KpiValue]] | None:
    """A series from the roll-up's hour rows; None when an hour straddles two local buckets."""
    buckets: dict[str, Counts] = {}
    for row in view.rollup(query.tenant, [kpi.name], scoped.parts, by_slot=True):
        assert row.slot is not None
        zone_name = time_zone_of(scoped.projects, query.tenant, row.project)
        label = slot_bucket(row.slot, zone_name, granularity)
        if label is None:
            return None
        buckets.setdefault(label, Counts()).add(row.label, row.hit, row.band, row.samples)
    count = households(scoped.projects, scoped.scope)
    return [
        (label, figure(kpi, buckets[label].tally(kpi, {}), count))
        for label in sorted(buckets)
        if buckets[label].samples
    ]


async def figure_groups(
    source: FactSource, query: KpiQuery | None, name: str, dimension: str
) -> list[tuple[str | None, KpiValue]]:
    """A KPI per project, building, kind, category, technician or team."""
    kpi = kpi_named(name)
    if dimension not in DIMENSIONS:
        raise InvalidInput(
            f"group_by must be one of {', '.join(DIMENSIONS)}", code="invalid_dimension"
        )
    if query is None:
        return []
    asked = query

    def work(view: ReadModelView) -> list[tuple[str | None, KpiValue]]:
        scoped = _scoped(view, asked)
        if kpi.snapshot:
            found = _samples(view, asked, scoped, kpi)
            return grouped(kpi, found, scoped.projects, scoped.scope, dimension)
        tallies = _tallies(view, asked, scoped, [kpi], group_by=dimension)
        return [
            (
                group,
                figure(
                    kpi,
                    counted,
                    group_households(scoped.projects, scoped.scope, asked.tenant, dimension, group),
                ),
            )
            for (group, _), counted in sorted(tallies.items(), key=lambda i: group_order(i[0][0]))
            if counted.samples
        ]

    return await source.read(work)


async def figure_orders(source: FactSource, query: KpiQuery | None, name: str) -> list[Sample]:
    """The samples (and so the orders) behind a figure, oldest first."""
    kpi = kpi_named(name)
    if query is None:
        return []
    asked = query

    def work(view: ReadModelView) -> list[Sample]:
        found = _samples(view, asked, _scoped(view, asked), kpi)
        return sorted(found, key=lambda s: (s.at, s.order_id))

    return await source.read(work)


async def order_numbers(source: FactSource, order_ids: Collection[str]) -> dict[str, str]:
    """The numbers people read of these orders (those reported before numbers have none)."""
    wanted = list(order_ids)
    return await source.read(lambda view: view.order_numbers(wanted))


async def at_risk(
    source: FactSource, query: KpiQuery | None, limit: int = 50
) -> list[tuple[OrderFacts, str, datetime, bool]]:
    """Open orders whose running clocks were warned or breached: (order, clock, due, breached)."""
    if query is None:
        return []
    asked = query

    def work(view: ReadModelView) -> list[tuple[OrderFacts, str, datetime, bool]]:
        scoped = _scoped(view, asked)
        found = []
        for order in scoped.open_orders:
            if (order.tenant, order.project) not in scoped.scope.projects:
                continue
            dimensions = order_dimensions(order)
            if any(dimensions.get(k) != v for k, v in asked.filters.items() if k != "project"):
                continue
            for cycle in order.clocks:
                if cycle.outcome == "running" and (cycle.warned or cycle.breached_at is not None):
                    found.append((order, cycle.clock, cycle.due_at, cycle.breached_at is not None))
        found.sort(key=lambda item: item[2])
        return found[:limit]

    return await source.read(work)


async def notifications(source: FactSource, query: KpiQuery | None) -> NotificationFigures | None:
    """notify's delivery outcomes over the query's projects and period.

    None under a building, kind, category, technician or team filter: a notification
    belongs to a project, not to those.
    """
    if query is None:
        return notification_figures([])
    if any(k != "project" for k in query.filters):
        return None
    asked = query

    def work(view: ReadModelView) -> NotificationFigures:
        scoped = _scoped(view, asked)
        return notification_figures(view.notification_counts(asked.tenant, scoped.parts))

    return await source.read(work)
