"""Mainland China's public days off and make-up working days (调休), year by year.

The State Council announces each year's schedule late in the year before (国务院办公厅关于
某年部分节假日安排的通知), and the `holidays` package knows it only from its next release.
Until then the package's figures for that year are an estimate: the statutory days off,
without a single make-up working day. So a year is *announced* by the package when the
package lists at least one make-up working day in it (every year's notice since 2001 has
moved some weekend days), and *known* when it is announced or a schedule for it was loaded.

A schedule is loaded by a tenant for itself or by the operator for every tenant. For a
year the calendar follows, in order: the tenant's own schedule, the operator's, the
package's announced year, else the package's estimate (an unknown year: a clock running
into it warns, `calendar_warning`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.dispatch.domain.sla.calendar_days import china_public_calendar
from shared.errors import InvalidInput
from shared.inputs import FreeText, Line

MIN_YEAR = 1950
"""The first year the `holidays` package knows (the People's Republic's first holidays)."""
MAX_YEAR = 2199
"""Far enough ahead for any schedule; a bound keeps a typo (20277) out of the table."""

Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]

PackageYear = tuple[frozenset[date], frozenset[date]]
"""The package's days off and make-up working days of one year."""

PackageReader = Callable[[int], PackageYear]


class ScheduleOrigin(StrEnum):
    """Where the schedule a calendar follows for a year comes from."""

    TENANT = "tenant"
    """Loaded by the tenant for itself."""
    OPERATOR = "operator"
    """Loaded by the operator for every tenant."""
    PACKAGE = "package"
    """Announced in the `holidays` package (it lists make-up working days for the year)."""
    UNKNOWN = "unknown"
    """Not announced yet: the package's estimate, statutory days off without 调休."""


@dataclass(frozen=True, slots=True)
class PublicHolidaySchedule:
    """One year's days off and make-up working days as the State Council published them.

    `source` names the notice (国办发明电〔2026〕…); `notes` is free text. Building one
    checks the rules of a published schedule, refusing with a code (`InvalidInput`): every
    date in the year (`holiday_outside_year`), at least one day off (`no_days_off`), no day both
    off and worked (`day_off_and_make_up_day`), and make-up days on a Saturday or Sunday
    (`make_up_day_not_weekend`: a weekday is a working day anyway, so listing one is a
    typo of another date).
    """

    year: int
    days_off: frozenset[date]
    make_up_days: frozenset[date] = frozenset()
    source: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise InvalidInput(
                f"year {self.year} is outside {MIN_YEAR}–{MAX_YEAR}", code="year_out_of_range"
            )
        if outside := sorted(d for d in self.days_off | self.make_up_days if d.year != self.year):
            raise InvalidInput(
                f"dates outside {self.year}: {_days(outside)}",
                code="holiday_outside_year",
                days=[d.isoformat() for d in outside],
            )
        if not self.days_off:
            raise InvalidInput(
                f"a schedule for {self.year} lists at least one day off", code="no_days_off"
            )
        if both := sorted(self.days_off & self.make_up_days):
            raise InvalidInput(
                f"days both off and make-up working days: {_days(both)}",
                code="day_off_and_make_up_day",
                days=[d.isoformat() for d in both],
            )
        if weekdays := sorted(d for d in self.make_up_days if d.weekday() < 5):
            raise InvalidInput(
                f"make-up working days must fall on a Saturday or Sunday: {_days(weekdays)}",
                code="make_up_day_not_weekend",
                days=[d.isoformat() for d in weekdays],
            )


def _days(days: Iterable[date]) -> str:
    return ", ".join(f"{d.isoformat()} ({d.strftime('%a')})" for d in days)


class ScheduleDocument(BaseModel):
    """A schedule as JSON (the API body, the CLI's file, the stored row):
    `{"year": 2027, "days_off": [...], "make_up_days": [...], "source": "...", "notes": "..."}`.

    Only the shape is checked here; `to_schedule` applies the rules of a schedule.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: Year = Field(description="The year the schedule is for.")
    days_off: Annotated[tuple[date, ...], Field(max_length=366)] = Field(
        description="Public days off (放假), ISO dates within the year; at least one."
    )
    make_up_days: Annotated[tuple[date, ...], Field(max_length=366)] = Field(
        default=(), description="Make-up working days (调休上班): Saturdays or Sundays worked."
    )
    source: Annotated[Line, Field(max_length=200)] | None = Field(
        default=None, description="The notice it comes from, e.g. 国办发明电〔2026〕…号."
    )
    notes: Annotated[FreeText, Field(max_length=2000)] | None = Field(
        default=None, description="Free text for whoever reads the schedule later."
    )

    def to_schedule(self) -> PublicHolidaySchedule:
        """The schedule, or `InvalidInput` naming the rule it breaks."""
        return PublicHolidaySchedule(
            year=self.year,
            days_off=frozenset(self.days_off),
            make_up_days=frozenset(self.make_up_days),
            source=self.source,
            notes=self.notes,
        )

    @classmethod
    def of(cls, schedule: PublicHolidaySchedule) -> ScheduleDocument:
        """The JSON form of `schedule`, days sorted (equal schedules give equal JSON)."""
        return cls(
            year=schedule.year,
            days_off=tuple(sorted(schedule.days_off)),
            make_up_days=tuple(sorted(schedule.make_up_days)),
            source=schedule.source,
            notes=schedule.notes,
        )


@dataclass(frozen=True, slots=True)
class HolidayYear:
    """The days off and make-up working days a calendar follows in one year, and from where."""

    year: int
    days_off: frozenset[date]
    make_up_days: frozenset[date]
    origin: ScheduleOrigin
    source: str | None = None
    notes: str | None = None

    @property
    def known(self) -> bool:
        """Whether the year's schedule was published (loaded, or announced in the package)."""
        return self.origin is not ScheduleOrigin.UNKNOWN


def package_year(year: int, package: PackageReader = china_public_calendar) -> HolidayYear:
    """The package's figures for `year`: announced when it lists a make-up working day."""
    days_off, make_up = package(year)
    origin = ScheduleOrigin.PACKAGE if make_up else ScheduleOrigin.UNKNOWN
    return HolidayYear(year, days_off, make_up, origin)


@dataclass(frozen=True, slots=True)
class PublicHolidays:
    """The schedules a tenant's calendars follow: its own, the operator's, then the package's.

    A value: equal schedules make equal (and equally hashed) values, so calendars carrying
    them share the calendar's day cache. The years are worked out once per value.
    """

    tenant: Mapping[int, PublicHolidaySchedule] = field(default_factory=dict)
    operator: Mapping[int, PublicHolidaySchedule] = field(default_factory=dict)
    package: PackageReader = china_public_calendar
    _key: tuple[object, ...] = field(init=False, repr=False)
    _hash: int = field(init=False, repr=False)
    _years: dict[int, HolidayYear] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        key = (
            tuple(sorted(self.tenant.items(), key=lambda item: item[0])),
            tuple(sorted(self.operator.items(), key=lambda item: item[0])),
            self.package,
        )
        # The calendar's day cache hashes this on every look-up: hash once.
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_hash", hash(key))
        object.__setattr__(self, "_years", {})

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, PublicHolidays):
            return NotImplemented
        return self._hash == other._hash and self._key == other._key

    def year(self, year: int) -> HolidayYear:
        """The schedule followed in `year` and where it comes from."""
        found = self._years.get(year)
        if found is None:
            found = self._years[year] = self._resolve(year)
        return found

    def _resolve(self, year: int) -> HolidayYear:
        for origin, loaded in (
            (ScheduleOrigin.TENANT, self.tenant),
            (ScheduleOrigin.OPERATOR, self.operator),
        ):
            schedule = loaded.get(year)
            if schedule is not None:
                return HolidayYear(
                    year,
                    schedule.days_off,
                    schedule.make_up_days,
                    origin,
                    schedule.source,
                    schedule.notes,
                )
        return package_year(year, self.package)

    def known(self, year: int) -> bool:
        """Whether `year`'s schedule was published (see the module)."""
        return self.year(year).known


PACKAGE_ONLY = PublicHolidays()
"""No schedule loaded: the package's announced years, and its estimate for the others."""
