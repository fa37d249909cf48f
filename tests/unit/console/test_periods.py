"""The quality page's period: a day, a week, a month or a range of whole local days."""

from __future__ import annotations

from datetime import date

import pytest

from services.console.domain.periods import (
    PeriodProblem,
    ReportPeriod,
    Span,
    bucket_labels,
    parse_period,
    span_around,
)

TODAY = date(2026, 12, 2)


def test_the_default_is_this_month_to_its_end() -> None:
    period, problem = parse_period(None, None, None, TODAY)
    assert problem is None
    assert period == ReportPeriod(Span.MONTH, date(2026, 12, 1), date(2027, 1, 1))
    assert period.last_day == date(2026, 12, 31)
    assert period.granularity == "day"


@pytest.mark.parametrize(
    ("span", "first", "start", "end"),
    [
        ("day", "2026-11-30", date(2026, 11, 30), date(2026, 12, 1)),
        # 2026-12-02 is a Wednesday: its week runs Monday 11-30 to Sunday 12-06.
        ("week", None, date(2026, 11, 30), date(2026, 12, 7)),
        ("month", "2026-02-14", date(2026, 2, 1), date(2026, 3, 1)),
    ],
)
def test_a_day_week_or_month_holds_the_date_given(
    span: str, first: str | None, start: date, end: date
) -> None:
    period, problem = parse_period(span, first, "1999-01-01", TODAY)
    assert problem is None
    assert (period.span.value, period.start, period.end) == (span, start, end)


def test_a_range_includes_its_last_day() -> None:
    period, problem = parse_period("range", "2026-10-01", "2026-12-31", TODAY)
    assert problem is None
    assert (period.start, period.end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert period.granularity == "week"


@pytest.mark.parametrize(
    ("span", "first", "last", "problem"),
    [
        ("range", "2026-10-01", None, PeriodProblem.NOT_A_DATE),
        ("range", "yesterday", "2026-10-02", PeriodProblem.NOT_A_DATE),
        ("day", "2026-13-01", None, PeriodProblem.NOT_A_DATE),
        ("range", "2026-10-02", "2026-10-01", PeriodProblem.ENDS_BEFORE_START),
        ("range", "2025-01-01", "2026-12-31", PeriodProblem.TOO_LONG),
    ],
)
def test_a_period_that_is_not_one_gives_this_month_and_says_why(
    span: str, first: str, last: str | None, problem: PeriodProblem
) -> None:
    period, found = parse_period(span, first, last, TODAY)
    assert found is problem
    assert period == span_around(Span.MONTH, TODAY)


def test_an_unknown_span_is_a_month() -> None:
    period, problem = parse_period("fortnight", "2026-11-05", None, TODAY)
    assert problem is None and period == span_around(Span.MONTH, date(2026, 11, 5))


def test_moving_a_period_keeps_its_kind() -> None:
    december = span_around(Span.MONTH, TODAY)
    assert december.shifted(1) == span_around(Span.MONTH, date(2027, 1, 1))
    assert december.shifted(-12).start == date(2025, 12, 1)
    week = span_around(Span.WEEK, TODAY)
    assert week.shifted(-1).start == date(2026, 11, 23)
    ten_days, _ = parse_period("range", "2026-11-01", "2026-11-10", TODAY)
    assert ten_days.shifted(1) == ReportPeriod(Span.RANGE, date(2026, 11, 11), date(2026, 11, 21))


def test_buckets_are_labelled_as_reporting_labels_them() -> None:
    day = span_around(Span.DAY, TODAY)
    assert day.granularity == "hour"
    hours = bucket_labels(day)
    assert (len(hours), hours[0], hours[-1]) == (24, "2026-12-02T00", "2026-12-02T23")
    days = bucket_labels(span_around(Span.MONTH, TODAY))
    assert (len(days), days[0], days[-1]) == (31, "2026-12-01", "2026-12-31")
    quarter, _ = parse_period("range", "2026-10-01", "2026-12-31", TODAY)
    weeks = bucket_labels(quarter)
    assert (weeks[0], weeks[-1]) == ("2026-W40", "2026-W53")
    year, _ = parse_period("range", "2026-01-01", "2026-12-31", TODAY)
    assert bucket_labels(year) == [f"2026-{m:02d}" for m in range(1, 13)]
