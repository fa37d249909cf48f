"""Pre-aggregated KPI figures: what each sample adds to the roll-up, and how periods read it back.

A figure over a month used to draw every order's samples at query time. Instead the
projector keeps, next to each order's facts, counts of its samples (`kpis.Kpi.samples`
stays the only definition of a sample): when an order's facts change, its old samples are
subtracted and its new ones added, in the same transaction.

The counts are keyed by UTC *hour* (and, for long periods, by UTC day: 24 hours summed),
not by local date, so a project's time zone can change without touching them: every time
zone whose offset is a whole number of hours puts local midnights (and local hours) on
UTC hour boundaries, so "the samples of a local period" is exactly "the samples of a range
of UTC hours". A period whose bounds do not fall on whole UTC hours (a zone such as
Asia/Kolkata) is answered from the per-sample rows instead (`windows` returns None).

Duration KPIs need exact nearest-rank percentiles, so their counts are kept per *band* of
the measure (a logarithmic bucket, monotone in the measure), and beside them the count of
each exact measure per band, hour and day: the band counts of a period locate the band
holding a rank, and only that band's (measure, count) rows are read back.

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from services.reporting.domain.facts import OrderFacts
from services.reporting.domain.kpis import (
    KPIS,
    PERCENTILES,
    Kpi,
    Sample,
    Tally,
    Unit,
    nearest_rank,
)
from services.reporting.domain.periods import Granularity, bucket, zone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
_TICK = timedelta(microseconds=1)
HOUR_SPAN = 1
DAY_SPAN = 24
"""A roll-up row counts the samples of `span` hours from its `slot` (an hour since EPOCH)."""
BANDS_PER_OCTAVE = 16
"""Band width: a factor 2^(1/16) (about 4.4 %) of the measure, so one band holds a few
per cent of a period's durations and reading it back is cheap."""
NO_LABEL = ""
NO_BAND = -1
HIT_NONE, HIT_FALSE, HIT_TRUE = -1, 0, 1

ROLLED_UP = tuple(k for k in KPIS.values() if not k.snapshot)
"""The KPIs kept pre-aggregated. A snapshot (backlog) depends on `now`, not on a period:
it is computed from the open orders, which are few."""
_NO_NOW = EPOCH
"""The `now` handed to sample functions of KPIs that are not snapshots (they ignore it)."""


def slot_of(at: datetime) -> int:
    """The UTC hour holding `at`, counted from EPOCH (exact: integer arithmetic)."""
    return (at - EPOCH) // HOUR


def slot_start(slot: int) -> datetime:
    """The instant an hour slot begins."""
    return EPOCH + slot * HOUR


def band_of(measure: float) -> int:
    """The band of a duration: monotone (a larger measure never has a smaller band)."""
    return math.floor(math.log2(1.0 + max(measure, 0.0)) * BANDS_PER_OCTAVE)


def hit_code(hit: bool | None) -> int:
    """A sample's hit as stored (a column in a primary key cannot be NULL)."""
    return HIT_NONE if hit is None else HIT_TRUE if hit else HIT_FALSE


class RollupKey(NamedTuple):
    """One roll-up row: the samples of one KPI, project, time slot, label, hit and band.

    A named tuple: the projector hashes and sorts many of these per batch.
    """

    tenant: str
    project: str
    kpi: str
    span: int
    slot: int
    label: str
    hit: int
    band: int


class MeasureKey(NamedTuple):
    """One row of a duration's measures: how many samples of one band had this exact measure."""

    tenant: str
    kpi: str
    band: int
    span: int
    project: str
    slot: int
    measure: float


def band_or_none(sample: Sample) -> int | None:
    """The band stored with a sample: only samples with a measure have one."""
    return band_of(sample.measure) if sample.measure is not None else None


def sample_keys(
    kpi: str, sample: Sample
) -> tuple[tuple[RollupKey, RollupKey], tuple[MeasureKey, ...]]:
    """Every row a sample counts in: its roll-up rows and its measure rows, from one
    reckoning of its hour and band (the projector's hot path draws thousands a batch)."""
    tenant, project, measure = sample.tenant, sample.project, sample.measure
    hour = slot_of(sample.at)
    day = hour - hour % DAY_SPAN
    band = NO_BAND if measure is None else band_of(measure)
    common = (sample.label or NO_LABEL, hit_code(sample.hit), band)
    counted = (
        RollupKey(tenant, project, kpi, HOUR_SPAN, hour, *common),
        RollupKey(tenant, project, kpi, DAY_SPAN, day, *common),
    )
    if measure is None:
        return counted, ()
    return counted, (
        MeasureKey(tenant, kpi, band, HOUR_SPAN, project, hour, measure),
        MeasureKey(tenant, kpi, band, DAY_SPAN, project, day, measure),
    )


def order_samples(order: OrderFacts | None) -> dict[str, list[Sample]]:
    """An order's samples of every pre-aggregated KPI (none before it is reported)."""
    if order is None:
        return {}
    return {kpi.name: list(kpi.samples(order, _NO_NOW)) for kpi in ROLLED_UP}


def changed_kpis(before: Mapping[str, list[Sample]], after: Mapping[str, list[Sample]]) -> set[str]:
    """The KPIs whose samples differ between two versions of an order."""
    return {k for k in before.keys() | after.keys() if before.get(k, []) != after.get(k, [])}


def rollup_delta(
    before: Mapping[str, list[Sample]],
    after: Mapping[str, list[Sample]],
    changed: Iterable[str],
    delta: Counter[RollupKey],
    measures: Counter[MeasureKey],
) -> None:
    """Add to `delta` and `measures` what replacing an order's samples `before` by
    `after` adds to each roll-up and measure row (in place: a rebuild sums a whole
    partition's orders into one pair).

    `changed`: the KPIs whose samples differ (`changed_kpis`); the others add nothing.
    """
    for name in changed:
        for sign, samples in ((-1, before.get(name, ())), (1, after.get(name, ()))):
            for sample in samples:
                counted, measured = sample_keys(name, sample)
                for key in counted:
                    delta[key] += sign
                for measure_key in measured:
                    measures[measure_key] += sign


@dataclass(frozen=True)
class Window:
    """Roll-up rows of one span with slots in `[first, end)`."""

    span: int
    first: int
    end: int


def windows(low: datetime, high: datetime) -> list[Window] | None:
    """The roll-up rows that cover exactly `[low, high)`: whole UTC days, hours at the edges.

    None when a bound is not on a whole UTC hour (then no set of rows covers it exactly).
    """
    if (low - EPOCH) % HOUR or (high - EPOCH) % HOUR:
        return None
    first, end = slot_of(low), slot_of(high)
    day_first = -(-first // DAY_SPAN) * DAY_SPAN
    day_end = end // DAY_SPAN * DAY_SPAN
    if day_first >= day_end:
        return [Window(HOUR_SPAN, first, end)] if first < end else []
    found = [Window(HOUR_SPAN, first, day_first), Window(DAY_SPAN, day_first, day_end)]
    found.append(Window(HOUR_SPAN, day_end, end))
    return [w for w in found if w.first < w.end]


@dataclass
class Counts:
    """Roll-up rows of one KPI summed over a scope and period (or one bucket of a series)."""

    samples: int = 0
    hits: int = 0
    measured: int = 0
    breakdown: Counter[str] = field(default_factory=Counter)
    bands: Counter[int] = field(default_factory=Counter)

    def add(self, label: str, hit: int, band: int, n: int) -> None:
        """Count `n` samples of one roll-up row."""
        self.samples += n
        if hit == HIT_TRUE:
            self.hits += n
        if label != NO_LABEL:
            self.breakdown[label] += n
        if band != NO_BAND:
            self.measured += n
            self.bands[band] += n

    def ranks(self, kpi: Kpi) -> list[tuple[int, int]]:
        """For each reported percentile of a duration KPI: (band, rank within the band).

        Empty for other KPIs and when nothing was measured.
        """
        if kpi.unit is not Unit.SECONDS or self.measured <= 0:
            return []
        located = []
        for p in PERCENTILES:
            rank = nearest_rank(self.measured, p)
            below = 0
            for band in sorted(self.bands):
                if below + self.bands[band] >= rank:
                    located.append((band, rank - below))
                    break
                below += self.bands[band]
        return located

    def tally(self, kpi: Kpi, band_measures: Mapping[int, list[tuple[float, int]]]) -> Tally:
        """The tally, given each located band's measures as (measure, count), ascending."""
        values = [_at_rank(band_measures[band], rank) for band, rank in self.ranks(kpi)]
        p50, p90, p99 = values if values else (None, None, None)
        return Tally(
            samples=self.samples,
            hits=self.hits,
            measured=self.measured,
            breakdown=dict(self.breakdown),
            percentiles=(p50, p90, p99),
        )


def _at_rank(counted: list[tuple[float, int]], rank: int) -> float:
    """The `rank`-th (1-based) smallest measure of ascending (measure, count) pairs."""
    below = 0
    for measure, n in counted:
        below += n
        if below >= rank:
            return measure
    raise ValueError(f"rank {rank} beyond the {below} measures of the band")


def needed_bands(counts: Iterable[tuple[Kpi, Counts]]) -> dict[str, set[int]]:
    """Per duration KPI, the bands whose measures a percentile falls in."""
    needed: dict[str, set[int]] = {}
    for kpi, counted in counts:
        for band, _ in counted.ranks(kpi):
            needed.setdefault(kpi.name, set()).add(band)
    return needed


@dataclass(frozen=True)
class ScopePart:
    """Projects of a scope that share a period's bounds (the same time zone offsets).

    `windows` is None when the bounds are not on whole UTC hours: such a part is answered
    from the per-sample rows.
    """

    projects: frozenset[str]
    low: datetime
    high: datetime

    @property
    def windows(self) -> list[Window] | None:
        """The roll-up rows covering this part's period."""
        return windows(self.low, self.high)


@dataclass(frozen=True)
class RollupRow:
    """Roll-up rows summed: per project (and hour slot, for a series) and KPI, label, hit, band."""

    project: str
    slot: int | None
    kpi: str
    label: str
    hit: int
    band: int
    samples: int


@dataclass(frozen=True)
class SampleCount:
    """Per-sample rows counted in the database: per group (a value of the dimension grouped
    by, None without grouping) and KPI, label, hit and band, as `RollupRow` has them."""

    group: str | None
    kpi: str
    label: str
    hit: int
    band: int
    samples: int


def slot_bucket(slot: int, time_zone: str, granularity: Granularity) -> str | None:
    """The local bucket an hour slot falls in wholly; None when the hour straddles two.

    An hour straddles buckets only in a zone whose offset is not a whole number of hours
    (or changes within the hour); the caller then answers from the per-sample rows.
    """
    start = slot_start(slot)
    tz = zone(time_zone)
    offset, offset_end = (
        start.astimezone(tz).utcoffset(),
        (start + HOUR - _TICK).astimezone(tz).utcoffset(),
    )
    if offset is None or offset != offset_end or offset % HOUR:
        return None
    return bucket(start, time_zone, granularity)
