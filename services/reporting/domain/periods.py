"""Reporting periods and time buckets, in each project's own time zone.

A period is a range of local calendar dates `[start, end)`: for every project it covers
local midnight of `start` to local midnight of `end` in that project's time zone, so
"November" for a Shanghai project is November in Shanghai. Buckets (hour, day, week,
month) are labelled in local time too; weeks are ISO weeks (Monday first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import InvalidInput

DEFAULT_TIME_ZONE = "Asia/Shanghai"


class Granularity(StrEnum):
    """Bucket sizes of a KPI series."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The time zone of a project; an unknown name falls back to the default zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


@dataclass(frozen=True)
class Period:
    """Local dates `[start, end)`."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(
                f"the period must end after it starts ({self.start} .. {self.end})",
                code="invalid_period",
            )
        if (self.end - self.start).days > 366 * 3:
            raise InvalidInput("a period is at most three years long", code="invalid_period")

    def bounds(self, time_zone: str) -> tuple[datetime, datetime]:
        """The UTC instants the period spans in `time_zone`."""
        tz = zone(time_zone)
        return (
            datetime.combine(self.start, time(0), tz).astimezone(UTC),
            datetime.combine(self.end, time(0), tz).astimezone(UTC),
        )

    def contains(self, instant: datetime, time_zone: str) -> bool:
        """Whether `instant` falls inside the period in `time_zone`."""
        low, high = self.bounds(time_zone)
        return low <= instant < high


def month_to_date(now: datetime, time_zone: str) -> Period:
    """The current month up to and including today, in `time_zone` (the live KPI period)."""
    today = now.astimezone(zone(time_zone)).date()
    return Period(today.replace(day=1), today + timedelta(days=1))


def bucket(instant: datetime, time_zone: str, granularity: Granularity) -> str:
    """The label of the bucket holding `instant`: `2026-11-23T14`, `2026-11-23`, `2026-W48`, `2026-11`."""
    local = instant.astimezone(zone(time_zone))
    if granularity is Granularity.HOUR:
        return local.strftime("%Y-%m-%dT%H")
    if granularity is Granularity.DAY:
        return local.strftime("%Y-%m-%d")
    if granularity is Granularity.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m")
