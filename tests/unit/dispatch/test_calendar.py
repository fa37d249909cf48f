"""Business calendars: working days in mainland China, duty windows, and open-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.dispatch.domain.sla import BusinessCalendar, CalendarKind, china_public_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = [("09:00", "12:00"), ("13:00", "18:00")]
OFFICE = BusinessCalendar.working_days(OFFICE_HOURS)
CUSTOMER_SERVICE = BusinessCalendar.daily([("07:00", "23:00")])
ALWAYS = BusinessCalendar.always()


def shanghai(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=SHANGHAI)


# What `holidays` 0.109 says about 2026, which matches the State Council's notice.
MAKE_UP_DAYS_2026 = {
    date(2026, 1, 4),  # Sunday, for New Year
    date(2026, 2, 14),  # Saturday, for Spring Festival
    date(2026, 2, 28),  # Saturday, for Spring Festival
    date(2026, 5, 9),  # Saturday, for Labour Day
    date(2026, 9, 20),  # Sunday, for National Day
    date(2026, 10, 10),  # Saturday, for National Day
}


# --- working days -----------------------------------------------------------------------


def test_the_package_knows_the_2026_make_up_days() -> None:
    _, make_up = china_public_calendar(2026)

    assert make_up == MAKE_UP_DAYS_2026


@pytest.mark.parametrize("day", sorted(MAKE_UP_DAYS_2026))
def test_make_up_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert OFFICE.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # New Year's Day
        date(2026, 1, 2),  # Friday, swapped with Sunday 4 January
        date(2026, 2, 16),  # Spring Festival eve, a Monday
        date(2026, 2, 23),  # Monday, swapped with Saturday 28 February
        date(2026, 5, 1),  # Labour Day
        date(2026, 5, 5),  # Tuesday, swapped with Saturday 9 May
        date(2026, 10, 1),  # National Day
        date(2026, 10, 7),  # Wednesday, swapped with Saturday 10 October
    ],
)
def test_public_holidays_are_not_working_days(day: date) -> None:
    assert not OFFICE.is_working_day(day)


def test_an_ordinary_week_works_monday_to_friday() -> None:
    week = [date(2026, 3, 9) + timedelta(days=n) for n in range(7)]

    assert [OFFICE.is_working_day(day) for day in week] == [True] * 5 + [False] * 2


def test_a_tenant_closure_makes_a_wednesday_a_day_off() -> None:
    closed = BusinessCalendar.working_days(OFFICE_HOURS, closures={date(2026, 3, 11)})

    assert not closed.is_working_day(date(2026, 3, 11))
    assert closed.is_working_day(date(2026, 3, 12))


def test_a_tenant_extra_working_day_makes_a_saturday_a_working_day() -> None:
    extra = BusinessCalendar.working_days(OFFICE_HOURS, extra_working_days={date(2026, 3, 14)})

    assert extra.is_working_day(date(2026, 3, 14))
    assert not extra.is_working_day(date(2026, 3, 15))


def test_a_tenant_closure_overrides_a_public_make_up_day() -> None:
    closed = BusinessCalendar.working_days(OFFICE_HOURS, closures={date(2026, 1, 4)})

    assert not closed.is_working_day(date(2026, 1, 4))


def test_without_public_holidays_only_the_weekday_counts() -> None:
    plain = BusinessCalendar.working_days(OFFICE_HOURS, use_public_holidays=False)

    assert plain.is_working_day(date(2026, 10, 1))
    assert not plain.is_working_day(date(2026, 1, 4))


def test_daily_and_always_calendars_work_every_day() -> None:
    closed_new_year = BusinessCalendar.daily([("07:00", "23:00")], closures={date(2026, 1, 1)})

    assert CUSTOMER_SERVICE.is_working_day(date(2026, 10, 1))
    assert ALWAYS.is_working_day(date(2026, 10, 3))
    assert not closed_new_year.is_working_day(date(2026, 1, 1))


# --- one working day --------------------------------------------------------------------


def test_one_working_day_before_labour_day_lands_after_the_holiday_at_the_same_time() -> None:
    # Thursday 30 April; 1–5 May are off; Wednesday 6 May is the next working day.
    due = OFFICE.add_working_days(shanghai(2026, 4, 30, 17), 1)

    assert due == shanghai(2026, 5, 6, 17)
    assert due.tzinfo is UTC


def test_one_working_day_from_friday_lands_on_the_make_up_saturday() -> None:
    assert OFFICE.add_working_days(shanghai(2026, 5, 8, 17), 1) == shanghai(2026, 5, 9, 17)
    assert OFFICE.add_working_days(shanghai(2026, 2, 13, 17), 1) == shanghai(2026, 2, 14, 17)


def test_one_working_day_from_the_make_up_saturday_skips_spring_festival() -> None:
    assert OFFICE.add_working_days(shanghai(2026, 2, 14, 17), 1) == shanghai(2026, 2, 24, 17)


def test_seven_working_days_across_spring_festival() -> None:
    # 12, 13, 14 (make-up Saturday), then 24, 25, 26, 27 February.
    due = OFFICE.add_working_days(shanghai(2026, 2, 12, 9), 7)

    assert due == shanghai(2026, 2, 27, 18)
    assert OFFICE.elapsed(shanghai(2026, 2, 12, 9), due) == timedelta(hours=56)


def test_new_year_2026_works_on_sunday_the_fourth() -> None:
    assert OFFICE.add_working_days(shanghai(2025, 12, 31, 17), 1) == shanghai(2026, 1, 4, 17)


def test_working_day_length_is_the_sum_of_the_windows() -> None:
    assert OFFICE.working_day_length() == timedelta(hours=8)
    assert CUSTOMER_SERVICE.working_day_length() == timedelta(hours=16)
    assert ALWAYS.working_day_length() == timedelta(days=1)
    assert BusinessCalendar.working_days().working_day_length() == timedelta(days=1)


def test_half_a_working_day_is_half_its_open_time() -> None:
    assert OFFICE.add_working_days(shanghai(2026, 3, 9, 9), 0.5) == shanghai(2026, 3, 9, 14)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add_working_days(shanghai(2026, 3, 9, 9), -1)
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(shanghai(2026, 3, 9, 9), timedelta(minutes=-1))


# --- windows and boundaries -------------------------------------------------------------


def test_the_lunch_break_is_skipped() -> None:
    assert OFFICE.add(shanghai(2026, 3, 9, 11, 30), timedelta(hours=1)) == shanghai(
        2026, 3, 9, 13, 30
    )


def test_a_clock_started_at_lunch_starts_at_one() -> None:
    assert OFFICE.add(shanghai(2026, 3, 9, 12, 20), timedelta(minutes=30)) == shanghai(
        2026, 3, 9, 13, 30
    )
    assert OFFICE.next_opening(shanghai(2026, 3, 9, 12, 20)) == shanghai(2026, 3, 9, 13)


def test_a_duration_that_runs_out_at_a_window_end_is_due_at_that_end() -> None:
    assert OFFICE.add(shanghai(2026, 3, 9, 9), timedelta(hours=3)) == shanghai(2026, 3, 9, 12)
    assert OFFICE.add(shanghai(2026, 3, 9, 17), timedelta(hours=1)) == shanghai(2026, 3, 9, 18)


def test_windows_are_half_open() -> None:
    assert OFFICE.is_open(shanghai(2026, 3, 9, 9))
    assert OFFICE.is_open(shanghai(2026, 3, 9, 11, 59, 59, 999999))
    assert not OFFICE.is_open(shanghai(2026, 3, 9, 12))
    assert not OFFICE.is_open(shanghai(2026, 3, 9, 8, 59, 59, 999999))
    assert not OFFICE.is_open(shanghai(2026, 3, 14, 10))  # a Saturday


def test_a_zero_duration_in_closed_time_is_the_next_opening() -> None:
    assert OFFICE.add(shanghai(2026, 3, 9, 12), timedelta(0)) == shanghai(2026, 3, 9, 13)
    assert OFFICE.add(shanghai(2026, 3, 9, 10), timedelta(0)) == shanghai(2026, 3, 9, 10)


def test_next_opening_of_an_open_instant_is_itself_in_utc() -> None:
    opening = OFFICE.next_opening(shanghai(2026, 3, 9, 10))

    assert opening == shanghai(2026, 3, 9, 10)
    assert opening.tzinfo is UTC


def test_next_opening_after_closing_on_a_friday_before_a_holiday() -> None:
    assert OFFICE.next_opening(shanghai(2026, 9, 30, 18)) == shanghai(2026, 10, 8, 9)


def test_customer_service_carries_half_an_hour_over_the_night() -> None:
    due = CUSTOMER_SERVICE.add(shanghai(2026, 3, 9, 22, 50), timedelta(minutes=30))

    assert due == shanghai(2026, 3, 10, 7, 20)


def test_customer_service_works_through_national_day() -> None:
    due = CUSTOMER_SERVICE.add(shanghai(2026, 10, 1, 22), timedelta(hours=2))

    assert due == shanghai(2026, 10, 2, 8)


def test_elapsed_counts_only_open_time() -> None:
    assert OFFICE.elapsed(shanghai(2026, 3, 9, 8), shanghai(2026, 3, 10, 8)) == timedelta(hours=8)
    assert OFFICE.elapsed(shanghai(2026, 3, 13, 17), shanghai(2026, 3, 16, 10)) == timedelta(
        hours=2
    )
    assert OFFICE.elapsed(shanghai(2026, 3, 10), shanghai(2026, 3, 9)) == timedelta(0)


def test_instants_in_any_zone_mean_the_same_instant() -> None:
    in_utc = datetime(2026, 3, 9, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
    in_new_york = in_utc.astimezone(ZoneInfo("America/New_York"))
    fixed = in_utc.astimezone(timezone(timedelta(hours=-3)))

    due = shanghai(2026, 3, 9, 13, 30)
    assert OFFICE.add(in_utc, timedelta(hours=1)) == due
    assert OFFICE.add(in_new_york, timedelta(hours=1)) == due
    assert OFFICE.add(fixed, timedelta(hours=1)) == due
    assert OFFICE.is_open(in_new_york)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        OFFICE.add(datetime(2026, 3, 9, 10), timedelta(hours=1))
    with pytest.raises(ValueError, match="time zone"):
        OFFICE.is_open(datetime(2026, 3, 9, 10))


# --- 24×7 -------------------------------------------------------------------------------


def test_three_minutes_on_an_always_calendar_are_three_minutes() -> None:
    start = shanghai(2026, 10, 1, 23, 58, 30)

    assert ALWAYS.add(start, timedelta(minutes=3)) == start + timedelta(minutes=3)
    assert ALWAYS.add(start, timedelta(minutes=3)).tzinfo is UTC


def test_elapsed_on_an_always_calendar_is_the_wall_clock_difference() -> None:
    start, end = shanghai(2026, 2, 16, 8), shanghai(2026, 2, 18, 9, 15)

    assert ALWAYS.elapsed(start, end) == end - start
    assert ALWAYS.is_open(start)
    assert ALWAYS.next_opening(start) == start


# --- clocks that change -----------------------------------------------------------------


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Berlin wall-clock time (the first of two, when the clocks go back)."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


BERLIN_ROUND_THE_CLOCK = BusinessCalendar.daily(tz="Europe/Berlin")


def test_the_spring_forward_day_has_twenty_three_hours() -> None:
    day = (berlin(2026, 3, 29), berlin(2026, 3, 30))

    assert BERLIN_ROUND_THE_CLOCK.elapsed(*day) == timedelta(hours=23)


def test_the_fall_back_day_has_twenty_five_hours() -> None:
    day = (berlin(2026, 10, 25), berlin(2026, 10, 26))

    assert BERLIN_ROUND_THE_CLOCK.elapsed(*day) == timedelta(hours=25)


def test_one_working_day_over_the_spring_change_keeps_the_wall_clock_time() -> None:
    office = BusinessCalendar.working_days([("09:00", "17:00")], tz="Europe/Berlin")

    due = office.add_working_days(berlin(2026, 3, 27, 16), 1)  # Friday, UTC+1

    assert due == berlin(2026, 3, 30, 16)  # Monday, UTC+2
    assert due == datetime(2026, 3, 30, 14, tzinfo=UTC)


def test_a_night_window_loses_the_skipped_hour() -> None:
    night = BusinessCalendar.daily([("01:00", "05:00")], tz="Europe/Berlin")

    assert night.add(berlin(2026, 3, 29, 1), timedelta(hours=3)) == berlin(2026, 3, 29, 5)
    assert night.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == timedelta(hours=3)


def test_a_window_inside_the_skipped_hour_is_empty_that_day() -> None:
    skipped = BusinessCalendar.daily([("02:00", "03:00")], tz="Europe/Berlin")

    assert skipped.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == timedelta(0)
    assert skipped.add(berlin(2026, 3, 28, 2, 30), timedelta(hours=1)) == berlin(2026, 3, 30, 2, 30)


def test_a_window_over_the_repeated_hour_counts_it_twice() -> None:
    night = BusinessCalendar.daily([("02:00", "04:00")], tz="Europe/Berlin")

    assert night.elapsed(berlin(2026, 10, 25), berlin(2026, 10, 26)) == timedelta(hours=3)


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        # Santiago skips its midnight in September and repeats 23:00 in April; Havana
        # repeats its midnight hour in November.
        ("America/Santiago", datetime(2026, 9, 5), datetime(2026, 9, 8)),
        ("America/Santiago", datetime(2026, 4, 3), datetime(2026, 4, 6)),
        ("America/Havana", datetime(2026, 10, 31), datetime(2026, 11, 3)),
    ],
)
def test_a_round_the_clock_day_calendar_counts_real_time_where_midnight_moves(
    zone: str, start: datetime, end: datetime
) -> None:
    round_the_clock = BusinessCalendar.daily(tz=zone)
    since, until = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)

    assert round_the_clock.elapsed(since, until) == until - since
    assert round_the_clock.add(since, until - since) == until


# --- shape and storage ------------------------------------------------------------------


def test_a_calendar_round_trips_through_json() -> None:
    calendar = BusinessCalendar.working_days(
        OFFICE_HOURS,
        closures={date(2026, 3, 11), date(2026, 3, 10)},
        extra_working_days={date(2026, 3, 14)},
    )

    stored = calendar.model_dump_json()

    assert BusinessCalendar.model_validate_json(stored) == calendar
    assert '"closures":["2026-03-10","2026-03-11"]' in stored


def test_a_calendar_reads_from_a_policy_document() -> None:
    calendar = BusinessCalendar.model_validate({"kind": "daily", "windows": [["07:00", "23:00"]]})

    assert calendar == CUSTOMER_SERVICE
    assert calendar.kind is CalendarKind.DAILY


def test_whole_days_are_the_default_windows() -> None:
    assert BusinessCalendar.working_days().windows == (("00:00", "24:00"),)
    assert BusinessCalendar.working_days().is_open(shanghai(2026, 3, 9, 23, 59))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "working_days", "time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"kind": "working_days", "time_zone": "../etc"}, "unknown time zone"),
        ({"kind": "daily", "windows": []}, "at least one"),
        ({"kind": "daily", "windows": [["9:00", "12:00"]]}, "wall-clock time"),
        ({"kind": "daily", "windows": [["09:00", "24:30"]]}, "wall-clock time"),
        ({"kind": "daily", "windows": [["12:00", "09:00"]]}, "start before"),
        ({"kind": "daily", "windows": [["24:00", "24:00"]]}, "start before"),
        ({"kind": "daily", "windows": [["13:00", "18:00"], ["09:00", "12:00"]]}, "previous"),
        ({"kind": "daily", "windows": [["09:00", "13:00"], ["12:00", "18:00"]]}, "previous"),
        ({"kind": "daily", "windows": [["09:00", "12:00"], ["12:00", "18:00"]]}, "touching"),
        ({"kind": "always", "windows": [["09:00", "12:00"]]}, "always"),
        ({"kind": "always", "closures": ["2026-03-11"]}, "always"),
        ({"kind": "daily", "extra_working_days": ["2026-03-14"]}, "extra working days"),
        (
            {
                "kind": "working_days",
                "closures": ["2026-03-14"],
                "extra_working_days": ["2026-03-14"],
            },
            "both closed and worked",
        ),
        ({"kind": "weekly"}, "kind"),
        ({"kind": "daily", "hours": 16}, "hours"),
    ],
)
def test_malformed_calendars_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar.model_validate(fields)


def test_a_calendar_is_immutable() -> None:
    with pytest.raises(ValidationError):
        OFFICE.time_zone = "UTC"  # type: ignore[misc]
