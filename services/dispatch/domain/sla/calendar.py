"""Business calendars: when an SLA clock runs (工作日历).

A clock counts only *open* time. Maintenance and guards are on duty 24×7 ("always");
customer service 16 hours every day ("daily", e.g. 07:00–23:00); office work such as the
one-working-day reply after a fix follows mainland China's working days ("working_days":
Monday–Friday, minus public holidays, plus the make-up working days 调休, as the schedules
known to the calendar say (`public_holidays`: the tenant's or operator's loaded schedule of a
year, else the `holidays` package), minus the tenant's own closures, plus the tenant's own
extra working days).

Boundary rules. Each duty window is half-open, [start, end) in local wall-clock time: the
clock runs at 09:00:00 and has stopped at 12:00:00. A duration that runs out exactly at a
window's end is due at that end (12:00), not at the next opening; a clock started in closed
time starts at the next opening, so `add(start, 0)` is `next_opening(start)`. Instants are
compared as instants whatever their zone; results are UTC.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    field_serializer,
    field_validator,
    model_validator,
)

from services.dispatch.domain.sla.calendar_days import (
    ONE_DAY,
    Interval,
    LocalDay,
    Window,
    as_utc,
    local_day,
    window_offsets,
)
from services.dispatch.domain.sla.public_holidays import PACKAGE_ONLY, PublicHolidays

DEFAULT_TIME_ZONE = "Asia/Shanghai"

WHOLE_DAY: tuple[Window, ...] = (("00:00", "24:00"),)

MAX_CLOSED_DAYS = 3660
"""Days in a row without open time after which a calendar is taken to never open again."""


class CalendarKind(StrEnum):
    """When the duty windows apply."""

    ALWAYS = "always"
    """24×7: every instant counts (维修班、护卫班24小时值班)."""
    DAILY = "daily"
    """The windows apply every day but the tenant's closures (客户服务中心16小时值班)."""
    WORKING_DAYS = "working_days"
    """The windows apply on working days only (工作日)."""


class BusinessCalendar(BaseModel):
    """When an SLA clock runs; stored as JSON inside a policy.

    Build one with `always`, `daily` or `working_days`. `closures` are the tenant's own days
    off; `extra_working_days` its own make-up days (say, when next year's 调休 is announced
    after the `holidays` package was released); `use_public_holidays=False` leaves a
    working-days calendar with plain Monday–Friday (other kinds ignore it). Windows that cross midnight are written as two,
    ("00:00", "06:00") and ("22:00", "24:00").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CalendarKind
    time_zone: str | None = None
    """An IANA zone; None follows the project's zone (`in_zone`), Asia/Shanghai until then."""
    windows: tuple[Window, ...] = WHOLE_DAY
    closures: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    use_public_holidays: bool = True

    _zone: ZoneInfo = PrivateAttr()
    _offsets: tuple[tuple[timedelta, timedelta], ...] = PrivateAttr()
    # Not part of the stored policy: the schedules are the tenant's and the operator's,
    # attached where a policy is read for a tenant (`with_public_holidays`).
    _public_holidays: PublicHolidays = PrivateAttr(default_factory=lambda: PACKAGE_ONLY)
    _hash: int = PrivateAttr()

    @classmethod
    def always(cls, tz: str | None = None) -> Self:
        """A 24×7 calendar: every instant is open."""
        return cls(kind=CalendarKind.ALWAYS, time_zone=tz)

    @classmethod
    def daily(
        cls,
        windows: Iterable[Window] = WHOLE_DAY,
        tz: str | None = None,
        closures: Iterable[date] = (),
    ) -> Self:
        """A calendar open during `windows` every day, e.g. customer service 07:00–23:00."""
        return cls(
            kind=CalendarKind.DAILY,
            time_zone=tz,
            windows=tuple(windows),
            closures=frozenset(closures),
        )

    @classmethod
    def working_days(
        cls,
        windows: Iterable[Window] = WHOLE_DAY,
        tz: str | None = None,
        closures: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        use_public_holidays: bool = True,
    ) -> Self:
        """A calendar open during `windows` on mainland-China working days (see the class)."""
        return cls(
            kind=CalendarKind.WORKING_DAYS,
            time_zone=tz,
            windows=tuple(windows),
            closures=frozenset(closures),
            extra_working_days=frozenset(extra_working_days),
            use_public_holidays=use_public_holidays,
        )

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            # ValueError: keys like "../x" that are not even well-formed zone names.
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        return value

    @field_validator("windows")
    @classmethod
    def _well_formed_windows(cls, windows: tuple[Window, ...]) -> tuple[Window, ...]:
        window_offsets(windows)
        return windows

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind is CalendarKind.ALWAYS and (
            self.windows != WHOLE_DAY or self.closures or self.extra_working_days
        ):
            raise ValueError("an 'always' calendar has no windows, closures or extra days")
        if self.kind is CalendarKind.DAILY and self.extra_working_days:
            raise ValueError("a 'daily' calendar works every day; it has no extra working days")
        if both := self.closures & self.extra_working_days:
            raise ValueError(f"days both closed and worked: {sorted(both)}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Parse the zone and windows once (fields are already validated here)."""
        self._zone = ZoneInfo(self.time_zone or DEFAULT_TIME_ZONE)
        self._offsets = window_offsets(self.windows)
        self._hash = hash((_FIELDS(self.__dict__), self._public_holidays))

    @field_serializer("closures", "extra_working_days", when_used="json")
    def _sorted_days(self, days: frozenset[date]) -> list[date]:
        # Sorted, so that equal calendars are stored as equal JSON.
        return sorted(days)

    def __hash__(self) -> int:
        # Pydantic's hash covers the fields only; the day cache must tell apart one calendar
        # followed with different schedules (equality already compares private attributes).
        # Worked out once: the day cache hashes the calendar for every day it looks up, and
        # reading a private attribute the usual way costs microseconds.
        stored: int = self.__pydantic_private__["_hash"]  # type: ignore[index]
        return stored

    def in_zone(self, time_zone: str) -> BusinessCalendar:
        """This calendar read in `time_zone` (a project's zone for a calendar that names none)."""
        zoned = BusinessCalendar.model_validate({**self.model_dump(), "time_zone": time_zone})
        return zoned.with_public_holidays(self._public_holidays)

    @property
    def public_holidays(self) -> PublicHolidays:
        """The schedules of public days off and make-up working days this calendar follows."""
        return self._public_holidays

    def with_public_holidays(self, holidays: PublicHolidays) -> BusinessCalendar:
        """This calendar following `holidays` (a tenant's loaded schedules and the package's)."""
        if holidays == self._public_holidays:
            return self
        copy = self.model_copy()
        copy._public_holidays = holidays
        copy._hash = hash((_FIELDS(copy.__dict__), holidays))
        return copy

    def follows_public_holidays(self) -> bool:
        """Whether public days off and make-up working days decide when this calendar is open."""
        return self.kind is CalendarKind.WORKING_DAYS and self.use_public_holidays

    def unconfirmed_years(self, start: datetime, end: datetime) -> tuple[int, ...]:
        """The years from `start` to `end` (local dates) whose public-holiday schedule is not
        known, for a calendar that follows one: time counted there may still move."""
        if not self.follows_public_holidays():
            return ()
        first = as_utc(start, "start").astimezone(self._zone).year
        last = as_utc(end, "end").astimezone(self._zone).year
        return tuple(
            year for year in range(first, last + 1) if not self._public_holidays.known(year)
        )

    def is_working_day(self, day: date) -> bool:
        """Whether the duty windows apply on the local date `day`."""
        if self.kind is CalendarKind.ALWAYS:
            return True
        if day in self.closures:
            return False
        if self.kind is CalendarKind.DAILY or day in self.extra_working_days:
            return True
        if self.use_public_holidays:
            year = self._public_holidays.year(day.year)
            if day in year.make_up_days:
                return True
            if day in year.days_off:
                return False
        return day.weekday() < 5

    def is_open(self, at: datetime) -> bool:
        """Whether the clock runs at the instant `at` (aware, any zone)."""
        instant = as_utc(at, "at")
        return self.next_opening(instant) == instant

    def next_opening(self, at: datetime) -> datetime:
        """The first open instant at or after `at`: `at` itself (in UTC) when it is open."""
        instant = as_utc(at, "at")
        if self.kind is CalendarKind.ALWAYS:
            return instant
        opens, _ = next(self._open_intervals(instant))
        return opens

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant (UTC) when `duration` of open time has passed since `start`.

        Started in closed time, the clock starts at the next opening; a duration that runs
        out at a window's end is due at that end.
        """
        instant = as_utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"a duration cannot be negative: {duration}")
        if self.kind is CalendarKind.ALWAYS:
            return instant + duration
        remaining = duration
        for opens, closes in self._open_intervals(instant):
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        raise AssertionError("the open intervals never end")  # pragma: no cover

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """The open time between the instants `start` and `end`; zero if `end` is not later."""
        since, until = as_utc(start, "start"), as_utc(end, "end")
        if until <= since:
            return timedelta(0)
        if self.kind is CalendarKind.ALWAYS:
            return until - since
        total = timedelta(0)
        for opens, closes in self._open_intervals(since):
            if opens >= until:
                break
            total += min(closes, until) - opens
        return total

    def working_day_length(self) -> timedelta:
        """The open time of one working day by the wall clock: 8 h for 09–12 and 13–18.

        A policy's "1 working day" is this much open time. A day on which the clocks change
        has an hour more or less of real open time; this length is the usual day's.
        """
        if self.kind is CalendarKind.ALWAYS:
            return ONE_DAY
        return sum((end - start for start, end in self._offsets), timedelta(0))

    def add_working_days(self, start: datetime, days: int | float) -> datetime:
        """`add` for `days` working days of open time: from Friday 17:00, 1 is Monday 17:00.

        Fractions round to the microsecond (0.5 of an 8-hour day is 4 hours).
        """
        if days < 0:
            raise ValueError(f"a number of working days cannot be negative: {days}")
        return self.add(start, self.working_day_length() * days)

    def _open_intervals(self, since: datetime) -> Iterator[Interval]:
        """The open intervals from the UTC instant `since` on, the first cut to start there."""
        day = since.astimezone(self._zone).date()
        if since < _cached_local_day(self, day).begins:
            day -= ONE_DAY  # where a zone changes its clocks at midnight
        closed_days = 0
        while True:
            intervals = _cached_local_day(self, day).open_intervals
            for opens, closes in intervals:
                if closes > since:
                    yield max(opens, since), closes
            closed_days = 0 if intervals else closed_days + 1
            if closed_days > MAX_CLOSED_DAYS:
                raise ValueError(
                    f"the calendar has no open time in the {closed_days} days to {day}"
                )
            day += ONE_DAY


_FIELDS = operator.itemgetter(*BusinessCalendar.model_fields)


# A scheduler recomputes deadlines all the time over the same few days; converting their
# windows to instants is most of the work. Equal calendars share entries, which is right
# because a day depends only on the calendar's fields.
@lru_cache(maxsize=16384)
def _cached_local_day(calendar: BusinessCalendar, day: date) -> LocalDay:
    windows = calendar._offsets if calendar.is_working_day(day) else ()
    return local_day(day, calendar._zone, windows)
