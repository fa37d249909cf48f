"""The period headquarters reads its figures over: a day, a week, a month, or a range.

Reporting takes local dates `[from, to)`; people pick a day, a week (Monday first), a
month, or a first and a last day they both mean to include. The period is always whole
local days, and the default is this month (to its end) in the project's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

LONGEST_RANGE_DAYS = 366
"""A custom range longer than this is refused (a year is the longest report asked for)."""


class Span(StrEnum):
    """How the period was chosen."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    RANGE = "range"


@dataclass(frozen=True)
class ReportPeriod:
    """Local dates `[start, end)` and how they were chosen."""

    span: Span
    start: date
    end: date
    """The day after the last one included (as reporting's `to`)."""

    @property
    def last_day(self) -> date:
        """The last day included (what a person reads as the period's end)."""
        return self.end - timedelta(days=1)

    @property
    def granularity(self) -> str:
        """The trend's bucket: hours of a day, days up to two months, then weeks, months."""
        days = (self.end - self.start).days
        if days <= 1:
            return "hour"
        if days <= 62:
            return "day"
        if days <= 190:
            return "week"
        return "month"

    def shifted(self, steps: int) -> ReportPeriod:
        """The period `steps` spans later (earlier when negative); a range moves by its length."""
        if self.span is Span.MONTH:
            return span_around(Span.MONTH, _add_months(self.start, steps))
        length = (self.end - self.start).days
        moved = timedelta(days=length * steps)
        return ReportPeriod(self.span, self.start + moved, self.end + moved)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def span_around(span: Span, day: date) -> ReportPeriod:
    """The day, week (Monday to Sunday) or month holding `day`."""
    if span is Span.DAY:
        return ReportPeriod(span, day, day + timedelta(days=1))
    if span is Span.WEEK:
        monday = day - timedelta(days=day.weekday())
        return ReportPeriod(span, monday, monday + timedelta(days=7))
    first = day.replace(day=1)
    return ReportPeriod(Span.MONTH, first, _add_months(first, 1))


class PeriodProblem(StrEnum):
    """Why the period asked for could not be read (the page shows this month instead)."""

    NOT_A_DATE = "not_a_date"
    ENDS_BEFORE_START = "ends_before_start"
    TOO_LONG = "too_long"


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_period(
    span: str | None, first: str | None, last: str | None, today: date
) -> tuple[ReportPeriod, PeriodProblem | None]:
    """The period of a page's query: `span` day/week/month around `first` (default today),
    or `range` from `first` to `last`, both included. A query that is not one gives this
    month, with the problem to tell the reader."""
    default = span_around(Span.MONTH, today)
    chosen = Span(span) if span in set(Span) else Span.MONTH
    start = _day(first)
    if chosen is not Span.RANGE:
        if first and start is None:
            return default, PeriodProblem.NOT_A_DATE
        return span_around(chosen, start or today), None
    end = _day(last)
    if start is None or end is None:
        return default, PeriodProblem.NOT_A_DATE
    if end < start:
        return default, PeriodProblem.ENDS_BEFORE_START
    if (end - start).days + 1 > LONGEST_RANGE_DAYS:
        return default, PeriodProblem.TOO_LONG
    return ReportPeriod(Span.RANGE, start, end + timedelta(days=1)), None


def bucket_labels(period: ReportPeriod) -> list[str]:
    """Every bucket of the period's trend, labelled as reporting labels them (local hours
    `2026-09-21T14`, days `2026-09-21`, ISO weeks `2026-W39`, months `2026-09`), so the
    chart spans the whole period, buckets without samples included."""
    days = [period.start + timedelta(days=n) for n in range((period.end - period.start).days)]
    granularity = period.granularity
    if granularity == "hour":
        return [f"{day.isoformat()}T{hour:02d}" for day in days for hour in range(24)]
    if granularity == "day":
        return [day.isoformat() for day in days]
    if granularity == "week":
        labels = [f"{d.isocalendar().year}-W{d.isocalendar().week:02d}" for d in days]
    else:
        labels = [f"{d.year}-{d.month:02d}" for d in days]
    return list(dict.fromkeys(labels))
