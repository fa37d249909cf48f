"""The facts of one local day behind `BusinessCalendar`.

Mainland China's public days off and make-up working days (调休) come from the `holidays`
package, read once per year. A day's duty windows are wall-clock times; this module turns
them into UTC instants per local day, so a day may last 23 or 25 hours where the zone
changes its clocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from holidays import country_holidays

ONE_DAY = timedelta(days=1)

Interval = tuple[datetime, datetime]
"""A half-open stretch of open time [opens, closes), both UTC."""

Window = tuple[str, str]
"""A daily duty window as local wall-clock times, ("09:00", "12:00"); "24:00" may end one."""

_WALL_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


@lru_cache(maxsize=256)  # building holidays.China takes milliseconds; a deadline needs microseconds
def china_public_calendar(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """Mainland China's public days off and make-up working days (调休) of `year`.

    As the `holidays` package knows them: announced years are exact, later years are its
    estimate without make-up days (the State Council announces them late in the year before).
    """
    china = country_holidays("CN", years=year)
    days_off = frozenset(day for day in china if day.year == year)
    # `weekend_workdays` also carries a few make-up days of other years, whatever `years` says.
    make_up = frozenset(day for day in china.weekend_workdays if day.year == year)
    return days_off, make_up


def wall_clock_instant(day: date, since_midnight: timedelta, zone: ZoneInfo) -> datetime:
    """The UTC instant when the wall clock of `zone` shows `since_midnight` after `day` began.

    `since_midnight` may be a whole day ("24:00", the next midnight). A wall-clock time that
    happens twice (clocks going back) means its first occurrence; one that never happens
    (clocks going forward) is read with the offset from before the change, as RFC 5545
    §3.3.5 says and Python's `fold=0` does, so 02:30 in a 02:00→03:00 gap is 03:30.
    """
    wall = datetime.combine(day, time()) + since_midnight
    return wall.replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class LocalDay:
    """One local day of a calendar: the instants it begins and ends, and its open intervals.

    Consecutive days tile the time line: a day ends at the instant the next one begins.
    """

    begins: datetime
    ends: datetime
    open_intervals: tuple[Interval, ...]


def local_day(
    day: date, zone: ZoneInfo, windows: tuple[tuple[timedelta, timedelta], ...]
) -> LocalDay:
    """The instants of `day` in `zone`, open during `windows` (offsets from local midnight).

    Pass no windows for a day that is not worked.
    """
    begins = wall_clock_instant(day, timedelta(0), zone)
    ends = wall_clock_instant(day, ONE_DAY, zone)
    intervals: list[Interval] = []
    floor = begins
    for start, end in windows:
        # Just after a spring-forward gap the wall clock maps to earlier instants than inside
        # it (02:30 → 03:30 but 03:00 → 03:00); clamping keeps the intervals in order, makes
        # a window lying wholly inside the gap empty, and keeps a day inside its own bounds.
        opens = min(max(wall_clock_instant(day, start, zone), floor), ends)
        closes = min(max(wall_clock_instant(day, end, zone), opens), ends)
        if closes > opens:
            intervals.append((opens, closes))
        floor = closes
    return LocalDay(begins=begins, ends=ends, open_intervals=tuple(intervals))


def window_offsets(windows: tuple[Window, ...]) -> tuple[tuple[timedelta, timedelta], ...]:
    """The windows as offsets from local midnight; ValueError unless well formed and in order."""
    if not windows:
        raise ValueError("at least one duty window is needed")
    offsets: list[tuple[timedelta, timedelta]] = []
    for start, end in windows:
        opens, closes = _since_midnight(start), _since_midnight(end)
        if opens >= closes or start == "24:00":
            raise ValueError(f"window {start}–{end} must start before it ends")
        # Touching windows would be one window written twice; refusing keeps one spelling.
        if offsets and opens <= offsets[-1][1]:
            raise ValueError(
                f"window {start}–{end} must start after the previous one ends "
                "(windows are in order, apart, and not touching: merge touching ones)"
            )
        offsets.append((opens, closes))
    return tuple(offsets)


def as_utc(value: datetime, name: str) -> datetime:
    """`value` as a UTC instant; ValueError for a naive time."""
    if value.utcoffset() is None:
        # A naive time would silently mean the server's zone; callers must say which.
        raise ValueError(f"{name} must carry a time zone: {value.isoformat()}")
    return value.astimezone(UTC)


def _since_midnight(wall_clock: str) -> timedelta:
    match = _WALL_CLOCK.fullmatch(wall_clock)
    if match is None:
        raise ValueError(f"{wall_clock!r} is not a wall-clock time HH:MM from 00:00 to 24:00")
    if wall_clock == "24:00":
        return ONE_DAY
    return timedelta(hours=int(match[1]), minutes=int(match[2]))
