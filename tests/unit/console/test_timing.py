"""Due times on the project's wall clock, and countdowns to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.console.domain.timing import (
    countdown,
    local_time,
    parse_instant,
    wall_clock_instant,
)

NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai


def test_a_countdown_shows_hours_minutes_and_seconds_left_then_overdue() -> None:
    assert countdown(NOW + timedelta(minutes=3), NOW) == countdown(
        NOW + timedelta(seconds=180), NOW
    )
    left = countdown(NOW + timedelta(hours=26, minutes=4, seconds=5), NOW)
    assert (left.overdue, left.clock) == (False, "26:04:05")
    assert countdown(NOW, NOW).overdue is False
    over = countdown(NOW - timedelta(seconds=61), NOW)
    assert (over.overdue, over.clock) == (True, "0:01:01")


@given(st.integers(min_value=-(10**7), max_value=10**7))
def test_the_countdown_reads_back_as_the_seconds_left(seconds: int) -> None:
    shown = countdown(NOW + timedelta(seconds=seconds), NOW)
    hours, minutes, secs = (int(part) for part in shown.clock.split(":"))
    assert hours * 3600 + minutes * 60 + secs == abs(seconds)
    assert shown.overdue is (seconds < 0)


def test_times_are_shown_in_the_projects_zone_with_the_date_when_not_today_there() -> None:
    # 15:45 UTC is 23:45 in Shanghai, the same day there as NOW.
    assert local_time(NOW + timedelta(minutes=15), "Asia/Shanghai", NOW) == "23:45"
    # Forty minutes later it is already tomorrow in Shanghai, though still today in UTC.
    assert local_time(NOW + timedelta(minutes=40), "Asia/Shanghai", NOW) == "12-02 00:10"
    assert local_time(NOW + timedelta(minutes=40), "UTC", NOW) == "16:10"
    # A zone nobody knows falls back to Shanghai's rather than failing the page.
    assert local_time(NOW, "Mars/Olympus", NOW) == "23:30"


def test_instants_without_an_offset_are_not_guessed() -> None:
    assert parse_instant("2026-12-01T15:30:00+00:00") == NOW
    assert parse_instant("2026-12-01T15:30:00Z") == NOW
    assert parse_instant("2026-12-01T15:30:00") is None
    assert parse_instant("yesterday") is None
    assert parse_instant(None) is None


def test_a_time_typed_on_the_projects_clock_is_sent_with_its_offset() -> None:
    assert wall_clock_instant("2026-03-05T18:00", "Asia/Shanghai") == "2026-03-05T18:00:00+08:00"
    assert wall_clock_instant("2026-07-01T09:30", "Europe/Berlin") == "2026-07-01T09:30:00+02:00"
    # Unknown zones read as the fallback; what is not a time is None (the field is unanswered).
    assert wall_clock_instant("2026-03-05T18:00", None) == "2026-03-05T18:00:00+08:00"
    assert wall_clock_instant("tomorrow", "Asia/Shanghai") is None
    assert wall_clock_instant("2026-03-05T18:00+00:00", "Asia/Shanghai") is None
