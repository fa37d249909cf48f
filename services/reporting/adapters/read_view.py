"""The read queries of KPI figures: one consistent snapshot of the current generation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.adapters.order_rows import chunks, project_rows, stored_facts
from services.reporting.adapters.samples import DIMENSION_COLUMNS, sample_of
from services.reporting.domain.facts import OrderFacts, OrderStatus, ProjectFacts
from services.reporting.domain.kpis import Sample
from services.reporting.domain.rollup import (
    DAY_SPAN,
    HIT_FALSE,
    HIT_NONE,
    HIT_TRUE,
    HOUR_SPAN,
    NO_BAND,
    NO_LABEL,
    RollupRow,
    SampleCount,
    ScopePart,
    Window,
)


class ReadView:
    """The current generation as one transaction sees it: what KPI queries read."""

    def __init__(self, conn: Connection, generation: int) -> None:
        self._conn = conn
        self._gen = generation

    def order_numbers(self, order_ids: Collection[str]) -> dict[str, str]:
        """The number of each of these orders that has one."""
        o = t.orders.c
        found: dict[str, str] = {}
        for chunk in chunks(order_ids):
            rows = self._conn.execute(
                select(o.order_id, o.number).where(
                    o.generation == self._gen, o.order_id.in_(chunk), o.number.is_not(None)
                )
            ).all()
            found.update({order_id: number for order_id, number in rows})
        return found

    def open_orders(self, tenant: str, projects: frozenset[str] | None) -> list[OrderFacts]:
        """The facts of the orders still open (backlog, at-risk clocks): few at any time."""
        where = [
            t.orders.c.generation == self._gen,
            t.orders.c.tenant == tenant,
            t.orders.c.status.in_(sorted(OrderStatus.OPEN)),
        ]
        if projects is not None:
            where.append(t.orders.c.project.in_(sorted(projects)))
        rows = self._conn.execute(select(t.orders.c.facts).where(*where)).scalars().all()
        return [stored_facts(r) for r in rows]

    def project_facts(
        self, tenant: str, projects: frozenset[str] | None
    ) -> tuple[dict[tuple[str, str], ProjectFacts], set[str]]:
        """The registered projects' facts, and every project that has samples at all."""
        where = [t.projects.c.generation == self._gen, t.projects.c.tenant == tenant]
        if projects is not None:
            where.append(t.projects.c.project.in_(sorted(projects)))
        return project_rows(self._conn, where), _sampled_projects(self._conn, self._gen, tenant)

    def rollup(
        self,
        tenant: str,
        kpis: Sequence[str],
        parts: Sequence[ScopePart],
        by_slot: bool = False,
    ) -> list[RollupRow]:
        """The roll-up summed per project, KPI, label, hit and band over each part's period.

        With `by_slot`, per hour slot too (for a series). Parts without windows count nothing.
        """
        r = t.kpi_rollup.c
        keys = [r.project, r.kpi, r.label, r.hit, r.band]
        if by_slot:
            keys.insert(1, r.slot)
        found: list[RollupRow] = []
        for part in parts:
            spans = _hours(part) if by_slot else part.windows or []
            for window in spans:
                rows = self._conn.execute(
                    select(*keys, func.sum(r.samples))
                    .where(
                        r.generation == self._gen,
                        r.tenant == tenant,
                        r.project.in_(sorted(part.projects)),
                        r.kpi.in_(sorted(kpis)),
                        *_window_where(window),
                    )
                    .group_by(*keys)
                ).all()
                for row in rows:
                    values = list(row)
                    slot = int(values.pop(1)) if by_slot else None
                    project, kpi, label, hit, band, n = values
                    found.append(RollupRow(project, slot, kpi, label, int(hit), int(band), int(n)))
        return found

    def notification_counts(
        self, tenant: str, parts: Sequence[ScopePart]
    ) -> list[tuple[str, str, str, int]]:
        """Notification events counted per channel, template and outcome in the parts' periods."""
        c = t.notification_events.c
        keys = (c.channel, c.template, c.outcome)
        found: list[tuple[str, str, str, int]] = []
        for part in parts:
            rows = self._conn.execute(
                select(*keys, func.count())
                .where(*_period_where(t.notification_events, self._gen, tenant, part))
                .group_by(*keys)
            ).all()
            found.extend((str(a), str(b), str(o), int(n)) for a, b, o, n in rows)
        return found

    def band_measures(
        self, tenant: str, kpi: str, band: int, parts: Sequence[ScopePart]
    ) -> list[tuple[float, int]]:
        """The measures of one band of a duration KPI in the parts' periods: (measure, count)."""
        m = t.kpi_measures.c
        return _measure_counts(
            self._conn.execute(
                select(m.measure, func.sum(m.samples))
                .where(
                    m.generation == self._gen,
                    m.tenant == tenant,
                    m.kpi == kpi,
                    m.band == band,
                    m.span == window.span,
                    m.project.in_(sorted(part.projects)),
                    m.slot >= window.first,
                    m.slot < window.end,
                )
                .group_by(m.measure)
            ).all()
            for part in parts
            for window in part.windows or []
        )

    def samples(
        self,
        tenant: str,
        kpi: str,
        parts: Sequence[ScopePart],
        filters: Mapping[str, str] | None = None,
    ) -> list[Sample]:
        """The samples of a KPI in the parts' periods, narrowed by dimension filters."""
        found: list[Sample] = []
        for part in parts:
            rows = self._conn.execute(
                select(t.kpi_samples).where(
                    *_part_where(t.kpi_samples, self._gen, tenant, kpi, part),
                    *_narrowed(filters or {}),
                )
            ).all()
            found.extend(sample_of(row) for row in rows)
        return found

    def sample_counts(
        self,
        tenant: str,
        kpis: Sequence[str],
        parts: Sequence[ScopePart],
        filters: Mapping[str, str | None],
        group_by: str | None = None,
    ) -> list[SampleCount]:
        """The per-sample rows in the parts' periods, narrowed by `filters` and counted in
        SQL per value of `group_by`, KPI, label, hit and band (the roll-up's keys)."""
        c = t.kpi_samples.c
        keys = [
            c.kpi,
            func.coalesce(c.label, NO_LABEL),
            case((c.hit.is_(None), HIT_NONE), (c.hit.is_(True), HIT_TRUE), else_=HIT_FALSE),
            func.coalesce(c.band, NO_BAND),
        ]
        if group_by is not None:
            keys.insert(0, c[group_by])
        found: list[SampleCount] = []
        for part in parts:
            rows = self._conn.execute(
                select(*keys, func.count())
                .where(
                    *_period_where(t.kpi_samples, self._gen, tenant, part),
                    c.kpi.in_(sorted(kpis)),
                    *_narrowed(filters),
                )
                .group_by(*keys)
            ).all()
            for row in rows:
                values = list(row)
                group = values.pop(0) if group_by is not None else None
                kpi, label, hit, band, n = values
                found.append(SampleCount(group, kpi, label, int(hit), int(band), int(n)))
        return found

    def sample_band_measures(
        self,
        tenant: str,
        kpi: str,
        band: int,
        parts: Sequence[ScopePart],
        filters: Mapping[str, str | None],
    ) -> list[tuple[float, int]]:
        """The measures of one band of a duration KPI among the per-sample rows narrowed by
        `filters`, as (measure, count) ascending: `band_measures` without the roll-up."""
        c = t.kpi_samples.c
        return _measure_counts(
            self._conn.execute(
                select(c.measure, func.count())
                .where(
                    *_part_where(t.kpi_samples, self._gen, tenant, kpi, part),
                    c.band == band,
                    *_narrowed(filters),
                )
                .group_by(c.measure)
            ).all()
            for part in parts
        )


def _sampled_projects(conn: Connection, gen: int, tenant: str) -> set[str]:
    """Every project with roll-up rows: one index seek per project (no scan of the rows)."""
    r = t.kpi_rollup.c
    found: set[str] = set()
    last = ""
    while True:
        following = conn.execute(
            select(func.min(r.project)).where(
                r.generation == gen, r.tenant == tenant, r.span == DAY_SPAN, r.project > last
            )
        ).scalar_one_or_none()
        if following is None:
            return found
        found.add(str(following))
        last = str(following)


def _hours(part: ScopePart) -> list[Window]:
    """The hour rows of a part's whole period (a series needs every hour's slot)."""
    windows = part.windows or []
    return [Window(HOUR_SPAN, windows[0].first, windows[-1].end)] if windows else []


def _window_where(window: Window) -> list[Any]:
    return [
        t.kpi_rollup.c.span == window.span,
        t.kpi_rollup.c.slot >= window.first,
        t.kpi_rollup.c.slot < window.end,
    ]


def _period_where(table: Any, gen: int, tenant: str, part: ScopePart) -> list[Any]:
    """A generation's rows of a part's projects with `at` in its period."""
    return [
        table.c.generation == gen,
        table.c.tenant == tenant,
        table.c.project.in_(sorted(part.projects)),
        table.c.at >= part.low,
        table.c.at < part.high,
    ]


def _part_where(table: Any, gen: int, tenant: str, kpi: str, part: ScopePart) -> list[Any]:
    return [*_period_where(table, gen, tenant, part), table.c.kpi == kpi]


def _measure_counts(results: Iterable[Sequence[Any]]) -> list[tuple[float, int]]:
    """(measure, count) rows of several queries summed per measure, ascending, none at 0."""
    found: Counter[float] = Counter()
    for rows in results:
        for measure, n in rows:
            found[float(measure)] += int(n)
    return sorted((k, n) for k, n in found.items() if n)


def _narrowed(filters: Mapping[str, str | None]) -> list[Any]:
    """Conditions on the per-sample rows for dimension values (None: the order has none)."""
    c = t.kpi_samples.c
    return [
        c[d].is_(None) if v is None else c[d] == v
        for d, v in filters.items()
        if d == "project" or d in DIMENSION_COLUMNS
    ]
