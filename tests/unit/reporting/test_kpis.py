"""KPI arithmetic: percentiles, targets, periods and buckets in the project's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.reporting.domain.facts import ProjectFacts
from services.reporting.domain.kpis import (
    KPIS,
    Sample,
    Scope,
    age_band,
    aggregate,
    percentile,
    time_zone_of,
)
from services.reporting.domain.periods import Granularity, Period, bucket, month_to_date
from shared.errors import InvalidInput


def _samples(*hits: bool) -> list[Sample]:
    at = datetime(2026, 9, 21, tzinfo=UTC)
    return [Sample(f"wo-{i}", "acme", "sunny", at, hit=h) for i, h in enumerate(hits)]


def test_percentiles_are_nearest_rank() -> None:
    values = [60.0, 120.0, 120.0, 120.0, 120.0, 600.0, 1200.0]
    assert percentile(values, 50) == 120.0
    assert percentile(values, 90) == 1200.0
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0


def test_98_percent_meets_a_98_percent_target_despite_floating_point() -> None:
    value = aggregate(KPIS["satisfaction"], _samples(*([True] * 49 + [False])))
    assert value.value == pytest.approx(0.98)
    assert value.meets_target is True


def test_the_complaint_rate_is_per_household_and_at_most_its_target() -> None:
    kpi = KPIS["complaint_rate"]
    assert aggregate(kpi, _samples(True, True), household_count=100).meets_target is True
    over = aggregate(kpi, _samples(True, True, True), household_count=100)
    assert (over.numerator, over.denominator, over.meets_target) == (3, 100, False)
    assert aggregate(kpi, _samples(True), household_count=0).value is None


def test_a_ratio_without_samples_has_no_value_and_no_verdict() -> None:
    value = aggregate(KPIS["repair_timeliness"], [])
    assert (value.value, value.meets_target, value.denominator) == (None, None, 0)


def test_a_period_is_local_midnight_to_midnight() -> None:
    period = Period(date(2026, 9, 21), date(2026, 9, 28))
    low, high = period.bounds("Asia/Shanghai")
    assert low == datetime(2026, 9, 20, 16, 0, tzinfo=UTC)
    assert high == datetime(2026, 9, 27, 16, 0, tzinfo=UTC)
    assert period.contains(datetime(2026, 9, 20, 16, 30, tzinfo=UTC), "Asia/Shanghai")
    assert not period.contains(datetime(2026, 9, 20, 16, 30, tzinfo=UTC), "Europe/London")


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidInput) as refused:
        Period(date(2026, 9, 28), date(2026, 9, 21))
    assert refused.value.code == "invalid_period"


def test_buckets_are_labelled_in_local_time() -> None:
    late_sunday_utc = datetime(2026, 9, 20, 16, 30, tzinfo=UTC)  # Monday 00:30 in Shanghai
    assert bucket(late_sunday_utc, "Asia/Shanghai", Granularity.HOUR) == "2026-09-21T00"
    assert bucket(late_sunday_utc, "Asia/Shanghai", Granularity.DAY) == "2026-09-21"
    assert bucket(late_sunday_utc, "Asia/Shanghai", Granularity.WEEK) == "2026-W39"
    assert bucket(late_sunday_utc, "UTC", Granularity.WEEK) == "2026-W38"
    assert bucket(late_sunday_utc, "Asia/Shanghai", Granularity.MONTH) == "2026-09"


def test_the_live_period_is_this_month_to_date_in_the_projects_zone() -> None:
    # 23:30 UTC on 30 September is already 1 October in Shanghai.
    now = datetime(2026, 9, 30, 23, 30, tzinfo=UTC)
    assert month_to_date(now, "Asia/Shanghai") == Period(date(2026, 10, 1), date(2026, 10, 2))
    assert month_to_date(now, "UTC") == Period(date(2026, 9, 1), date(2026, 10, 1))


def test_backlog_age_bands() -> None:
    assert [age_band(timedelta(hours=h)) for h in (1, 30, 80, 200)] == [
        "lt_1d", "1d_3d", "3d_7d", "ge_7d",
    ]  # fmt: skip


def test_a_scope_admits_only_its_projects_and_filters() -> None:
    sample = Sample("wo-1", "acme", "sunny", datetime(2026, 9, 21, tzinfo=UTC),
                    dims={"building": "b1", "kind": "repair"})  # fmt: skip
    assert Scope(frozenset({("acme", "sunny")})).admits(sample)
    assert not Scope(frozenset({("acme", "river")})).admits(sample)
    assert not Scope(frozenset({("other", "sunny")})).admits(sample)
    assert Scope(frozenset({("acme", "sunny")}), {"building": "b1"}).admits(sample)
    assert not Scope(frozenset({("acme", "sunny")}), {"building": "b2"}).admits(sample)


def test_an_unregistered_project_counts_in_the_default_zone() -> None:
    projects = {("acme", "sunny"): ProjectFacts("acme", "sunny", "S", "Asia/Urumqi", 10, 1)}
    assert time_zone_of(projects, "acme", "sunny") == "Asia/Urumqi"
    assert time_zone_of(projects, "acme", "river") == "Asia/Shanghai"
