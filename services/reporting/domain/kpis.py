"""The KPIs headquarters audits (the group's 分项指标) and the operational views beside them.

Every KPI is computed the same way: each work order contributes *samples* (a repair whose
promises concluded, its last rating, a completion, ...), each placed at an instant and carrying
either a hit (for ratios) or a measurement (for durations). A figure is the aggregate of
the samples whose instant falls in the period, in the project's time zone; a series is
the same per bucket; the orders behind a figure are the samples' orders. `docs/kpis.md`
gives each formula in words.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.reporting.domain.facts import ClockCycle, OrderFacts, ProjectFacts
from services.reporting.domain.periods import DEFAULT_TIME_ZONE, Granularity, Period, bucket
from shared.events.sla import ClockName

REPAIR = "repair"
COMPLAINT = "complaint"
QUALITY_WINDOW = timedelta(days=30)
"""A completion reopened within this window fails repair quality (维修工程质量合格率)."""
SATISFIED_FROM = 4
"""满意 (5) and 基本满意 (4) count as satisfied."""
BACKLOG_AGES = (
    (timedelta(days=1), "lt_1d"),
    (timedelta(days=3), "1d_3d"),
    (timedelta(days=7), "3d_7d"),
)
BACKLOG_OLDEST = "ge_7d"


class Unit(StrEnum):
    """How a KPI's value reads."""

    RATIO = "ratio"
    SECONDS = "seconds"
    COUNT = "count"


class Direction(StrEnum):
    """Which side of the target is good."""

    AT_LEAST = "at_least"
    AT_MOST = "at_most"


@dataclass(frozen=True)
class Sample:
    """One work order's contribution to a KPI."""

    order_id: str
    tenant: str
    project: str
    at: datetime
    hit: bool | None = None
    measure: float | None = None
    label: str | None = None
    """A breakdown key: the clock of a breach, the age band of a backlog order."""
    dims: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Kpi:
    """A KPI's definition: names in both languages, unit, target and how samples are drawn."""

    name: str
    title_en: str
    title_zh: str
    unit: Unit
    samples: Callable[[OrderFacts, datetime], Iterator[Sample]]
    target: float | None = None
    direction: Direction | None = None
    snapshot: bool = False
    """True for a state now (backlog) rather than a count over the period."""
    per_household: bool = False
    """True when the denominator is the scope's households (the complaint rate)."""


@dataclass(frozen=True)
class KpiValue:
    """A KPI's figure over one scope and period."""

    kpi: str
    value: float | None
    numerator: int
    denominator: int
    target: float | None
    meets_target: bool | None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    breakdown: Mapping[str, int] = field(default_factory=dict)


def order_dimensions(order: OrderFacts) -> dict[str, str | None]:
    """The values of an order that figures are filtered and grouped by (besides project)."""
    return {
        "building": order.building,
        "kind": order.kind,
        "category": order.category,
        "technician": order.technician,
        "team": order.team,
    }


def _sample(
    order: OrderFacts,
    at: datetime,
    *,
    hit: bool | None = None,
    measure: float | None = None,
    label: str | None = None,
) -> Sample:
    return Sample(
        order.order_id, order.tenant, order.project, at, hit, measure, label,
        order_dimensions(order),
    )  # fmt: skip


def _kept(cycle: ClockCycle) -> bool:
    """A promise kept: met on time, and not only because the resident agreed to a delay."""
    return cycle.outcome == "met" and bool(cycle.on_time) and not cycle.missed_with_consent


def _repair_timeliness(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    """房屋零修、急修及时率: one sample per repair, in the period its promises concluded.

    The group's standard sets "房屋零修、急修及时率: 99%" over a repair's promises, the first
    of which is "三分钟服务承诺": the arrival clock and the resolution clock (their first cycles;
    what happens after a reopen is repair quality's business). The repair fails as soon
    as one of them is breached, at the breach's instant, whether or not the work is done
    yet: an open repair that broke its 3-minute promise counts against the project. It
    is kept when both concluded, met on time and not missed with consent, at the later
    conclusion. Otherwise it waits (clocks running), or never counts (cancelled unbroken).
    """
    if order.kind != REPAIR:
        return
    resolution = order.clock(ClockName.RESOLUTION)
    promises = [c for c in (order.clock(ClockName.ARRIVAL), resolution) if c is not None]
    breaches = [c.breached_at for c in promises if c.breached_at is not None]
    if breaches:
        yield _sample(order, min(breaches), hit=False)
        return
    if resolution is None or resolution.outcome != "met":
        return
    concluded = [c.concluded_at for c in promises]
    if any(at is None for at in concluded):
        return
    yield _sample(
        order, max(at for at in concluded if at is not None), hit=all(map(_kept, promises))
    )


def _valid_complaint(order: OrderFacts) -> bool:
    return order.kind == COMPLAINT and order.complaint_valid is True


def _complaints_handled(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    if _valid_complaint(order):
        yield _sample(order, order.reported_at, hit=order.first_completed_at is not None)


def _complaint_rate(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    if _valid_complaint(order):
        yield _sample(order, order.reported_at, hit=True)


def _follow_up_rate(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    completed = order.first_completed_at
    if order.kind == REPAIR and completed is not None:
        yield _sample(order, completed, hit=bool(order.ratings))


def _satisfaction(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    """业主综合满意率: one sample per rated order, its last rating, at that rating.

    The group's standard sets "业主(住户)对物业管理综合满意率: ≥98%" of the residents, not of the
    visits: a resident asked again is one opinion, the latest. Dispatch's rule is the
    same (the last rating counts), so a re-rating replaces the order's earlier one and
    moves its sample to the period of the re-rating.
    """
    if order.ratings:
        last = order.ratings[-1]
        yield _sample(order, last.rated_at, hit=last.rating >= SATISFIED_FROM)


def _repair_quality(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    if order.kind != REPAIR:
        return
    for completion in order.completions:
        reopened = completion.reopened_at
        failed = reopened is not None and reopened - completion.completed_at <= QUALITY_WINDOW
        yield _sample(order, completion.completed_at, hit=not failed)


def _duration(first: Callable[[OrderFacts], datetime | None]) -> Callable[..., Iterator[Sample]]:
    def samples(order: OrderFacts, _: datetime) -> Iterator[Sample]:
        at = first(order)
        if at is not None:
            yield _sample(order, at, measure=(at - order.reported_at).total_seconds())

    return samples


def _breaches(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    for cycle in order.clocks:
        if cycle.breached_at is not None:
            yield _sample(order, cycle.breached_at, hit=True, label=cycle.clock)


def _missed_with_consent(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    for cycle in order.clocks:
        if cycle.missed_with_consent and cycle.concluded_at is not None:
            yield _sample(order, cycle.concluded_at, hit=True, label=cycle.clock)


def age_band(age: timedelta) -> str:
    """The backlog band of an open order of this age."""
    for limit, name in BACKLOG_AGES:
        if age < limit:
            return name
    return BACKLOG_OLDEST


def _backlog(order: OrderFacts, now: datetime) -> Iterator[Sample]:
    if order.is_open:
        age = now - order.reported_at
        yield _sample(
            order, order.reported_at, hit=True, measure=age.total_seconds(), label=age_band(age)
        )


def _postponement_rate(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    yield _sample(order, order.reported_at, hit=order.postponements > 0)


def _reopen_rate(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    completed = order.first_completed_at
    if completed is not None:
        yield _sample(order, completed, hit=order.reopens > 0)


def _first_contact(order: OrderFacts, _: datetime) -> Iterator[Sample]:
    completed = order.first_completed_at
    if completed is not None:
        clean = (
            order.reassignments == 0
            and order.missed_appointments == 0
            and order.postponements == 0
            and order.reopens == 0
        )
        yield _sample(order, completed, hit=clean)


_AT_LEAST, _AT_MOST = Direction.AT_LEAST, Direction.AT_MOST

KPIS: Mapping[str, Kpi] = {
    k.name: k
    for k in (
        Kpi("repair_timeliness", "Repair timeliness", "房屋零修、急修及时率", Unit.RATIO,
            _repair_timeliness, 0.99, _AT_LEAST),
        Kpi("complaints_handled", "Valid complaints handled", "有效投诉处理率", Unit.RATIO,
            _complaints_handled, 1.0, _AT_LEAST),
        Kpi("complaint_rate", "Valid complaint rate", "用户有效投诉率", Unit.RATIO,
            _complaint_rate, 0.02, _AT_MOST, per_household=True),
        Kpi("follow_up_rate", "Repair follow-up rate", "维修服务回访率", Unit.RATIO,
            _follow_up_rate, 0.30, _AT_LEAST),
        Kpi("satisfaction", "Satisfaction", "业主综合满意率", Unit.RATIO,
            _satisfaction, 0.98, _AT_LEAST),
        Kpi("repair_quality", "Repair quality pass", "维修工程质量合格率", Unit.RATIO,
            _repair_quality, 1.0, _AT_LEAST),
        Kpi("time_to_arrive", "Time to arrive", "到场时长", Unit.SECONDS,
            _duration(lambda o: o.first_arrived_at)),
        Kpi("time_to_feedback", "Time to feed back", "反馈时长", Unit.SECONDS,
            _duration(lambda o: o.first_feedback_at)),
        Kpi("time_to_resolve", "Time to resolve", "处理时长", Unit.SECONDS,
            _duration(lambda o: o.first_completed_at)),
        Kpi("sla_breaches", "SLA breaches", "超时次数", Unit.COUNT, _breaches),
        Kpi("missed_with_consent", "Promises missed with consent", "经业户同意的延误",
            Unit.COUNT, _missed_with_consent),
        Kpi("backlog", "Backlog", "未完成工单", Unit.COUNT, _backlog, snapshot=True),
        Kpi("postponement_rate", "Postponement rate", "延期率", Unit.RATIO, _postponement_rate),
        Kpi("reopen_rate", "Reopen rate", "返修率", Unit.RATIO, _reopen_rate),
        Kpi("first_contact_resolution", "First-contact resolution", "一次解决率", Unit.RATIO,
            _first_contact),
    )
}  # fmt: skip
"""Every KPI by its name (also the last token of its `kpi.<tenant>.<project>.<kpi>` subject)."""

HEADLINE = (
    "repair_timeliness",
    "complaints_handled",
    "complaint_rate",
    "follow_up_rate",
    "satisfaction",
    "repair_quality",
)
"""The six KPIs of the group's standard (分项指标) that it already reports."""

DIMENSIONS = ("project", "building", "kind", "category", "technician", "team")
"""What figures can be filtered and grouped by."""


@dataclass(frozen=True)
class Scope:
    """Which samples count: the projects (tenant, project) and optional dimension filters."""

    projects: frozenset[tuple[str, str]]
    filters: Mapping[str, str] = field(default_factory=dict)

    def admits(self, sample: Sample) -> bool:
        """Whether the sample belongs to this scope."""
        if (sample.tenant, sample.project) not in self.projects:
            return False
        return all(_dim(sample, k) == v for k, v in self.filters.items())


def _dim(sample: Sample, name: str) -> str | None:
    return sample.project if name == "project" else sample.dims.get(name)


def time_zone_of(
    projects: Mapping[tuple[str, str], ProjectFacts], tenant: str, project: str
) -> str:
    """A project's time zone, the default one until the project is registered."""
    facts = projects.get((tenant, project))
    return facts.time_zone if facts is not None else DEFAULT_TIME_ZONE


def samples_in(
    kpi: Kpi,
    orders: Iterable[OrderFacts],
    projects: Mapping[tuple[str, str], ProjectFacts],
    scope: Scope,
    period: Period,
    now: datetime,
) -> list[Sample]:
    """The samples of `kpi` in scope and in the period (snapshots ignore the period)."""
    found: list[Sample] = []
    # The period's instants per project, worked out once rather than per sample.
    bounds: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for order in orders:
        for sample in kpi.samples(order, now):
            if not scope.admits(sample):
                continue
            if kpi.snapshot:
                found.append(sample)
                continue
            key = (sample.tenant, sample.project)
            if key not in bounds:
                bounds[key] = period.bounds(time_zone_of(projects, *key))
            low, high = bounds[key]
            if low <= sample.at < high:
                found.append(sample)
    return found


PERCENTILES = (50, 90, 99)
"""The percentiles a duration KPI reports."""


def nearest_rank(count: int, p: float) -> int:
    """The 1-based nearest rank of percentile `p` (0..100) among `count` values (count > 0)."""
    return max(1, math.ceil(p / 100 * count))


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted `values` (p in 0..100); None when empty."""
    if not values:
        return None
    return values[nearest_rank(len(values), p) - 1]


def households(projects: Mapping[tuple[str, str], ProjectFacts], scope: Scope) -> int:
    """The households of the projects in scope (the complaint rate's denominator)."""
    return sum(f.households for key, f in projects.items() if key in scope.projects)


@dataclass(frozen=True)
class Tally:
    """What a figure is made of, however it was counted (from samples or pre-aggregated).

    `percentiles` are the p50, p90 and p99 of the measures (durations only).
    """

    samples: int = 0
    hits: int = 0
    measured: int = 0
    breakdown: Mapping[str, int] = field(default_factory=dict)
    percentiles: tuple[float | None, float | None, float | None] = (None, None, None)


def tally(kpi: Kpi, samples: list[Sample]) -> Tally:
    """The tally of a list of samples."""
    breakdown: dict[str, int] = defaultdict(int)
    for s in samples:
        if s.label is not None:
            breakdown[s.label] += 1
    measures = [s.measure for s in samples if s.measure is not None]
    p50 = p90 = p99 = None
    if kpi.unit is Unit.SECONDS:
        measures.sort()
        p50, p90, p99 = (percentile(measures, p) for p in PERCENTILES)
    return Tally(
        samples=len(samples),
        hits=sum(1 for s in samples if s.hit),
        measured=len(measures),
        breakdown=dict(breakdown),
        percentiles=(p50, p90, p99),
    )


def aggregate(kpi: Kpi, samples: list[Sample], household_count: int = 0) -> KpiValue:
    """A figure from its samples."""
    return figure(kpi, tally(kpi, samples), household_count)


def figure(kpi: Kpi, counted: Tally, household_count: int = 0) -> KpiValue:
    """A figure from its tally."""
    p50, p90, p99 = counted.percentiles
    if kpi.unit is Unit.SECONDS:
        value, numerator, denominator = p50, counted.measured, counted.measured
    elif kpi.unit is Unit.COUNT:
        value, numerator, denominator = float(counted.samples), counted.samples, counted.samples
    else:
        denominator = household_count if kpi.per_household else counted.samples
        numerator = counted.hits
        value = numerator / denominator if denominator else None
    return KpiValue(
        kpi=kpi.name,
        value=value,
        numerator=numerator,
        denominator=denominator,
        target=kpi.target,
        meets_target=_meets(kpi, value),
        p50=p50,
        p90=p90,
        p99=p99,
        breakdown=dict(sorted((k, n) for k, n in counted.breakdown.items() if n)),
    )


def _meets(kpi: Kpi, value: float | None) -> bool | None:
    if kpi.target is None or value is None:
        return None
    # Rounded so 0.98 counts as meeting 98% despite binary floating point.
    if kpi.direction is Direction.AT_MOST:
        return round(value, 9) <= kpi.target
    return round(value, 9) >= kpi.target


def compute(
    kpi: Kpi,
    orders: Iterable[OrderFacts],
    projects: Mapping[tuple[str, str], ProjectFacts],
    scope: Scope,
    period: Period,
    now: datetime,
) -> KpiValue:
    """The figure of `kpi` over `scope` and `period`, as of `now`."""
    samples = samples_in(kpi, orders, projects, scope, period, now)
    return aggregate(kpi, samples, households(projects, scope))


def series(
    kpi: Kpi,
    samples: list[Sample],
    projects: Mapping[tuple[str, str], ProjectFacts],
    scope: Scope,
    granularity: Granularity,
) -> list[tuple[str, KpiValue]]:
    """The figure per time bucket (in each project's time zone), buckets in order.

    The complaint rate's denominator is the scope's households in every bucket.
    """
    buckets: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        tz = time_zone_of(projects, s.tenant, s.project)
        buckets[bucket(s.at, tz, granularity)].append(s)
    count = households(projects, scope)
    return [(label, aggregate(kpi, buckets[label], count)) for label in sorted(buckets)]


def grouped(
    kpi: Kpi,
    samples: list[Sample],
    projects: Mapping[tuple[str, str], ProjectFacts],
    scope: Scope,
    dimension: str,
) -> list[tuple[str | None, KpiValue]]:
    """The figure per value of `dimension` (project, building, kind, category, technician, team)."""
    groups: dict[str | None, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[_dim(s, dimension)].append(s)
    result: list[tuple[str | None, KpiValue]] = []
    for key in sorted(groups, key=group_order):
        tenant = next(iter(groups[key])).tenant
        count = group_households(projects, scope, tenant, dimension, key)
        result.append((key, aggregate(kpi, groups[key], count)))
    return result


def group_order(key: str | None) -> tuple[bool, str]:
    """How groups are listed: by value, the orders without one (None) last."""
    return (key is None, key or "")


def group_households(
    projects: Mapping[tuple[str, str], ProjectFacts],
    scope: Scope,
    tenant: str,
    dimension: str,
    key: str | None,
) -> int:
    """The complaint rate's denominator of one group: its project's, or the whole scope's."""
    if dimension == "project":
        return households(projects, Scope(frozenset({(tenant, key or "")})))
    return households(projects, scope)
