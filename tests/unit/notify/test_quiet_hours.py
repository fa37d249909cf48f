"""Quiet hours: when a non-urgent message may reach a resident (project time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain.quiet_hours import QuietHours, Window

SHANGHAI = "Asia/Shanghai"


def test_2130_goes_at_0800_the_next_day_in_the_project_time_zone() -> None:
    at = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai
    assert QuietHours().next_allowed(at, SHANGHAI) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def test_early_morning_waits_until_0800_the_same_day() -> None:
    at = datetime(2026, 11, 22, 22, 15, tzinfo=UTC)  # 06:15 on the 23rd in Shanghai
    assert QuietHours().next_allowed(at, SHANGHAI) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_lunch_waits_until_the_window_ends() -> None:
    at = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    assert QuietHours().next_allowed(at, SHANGHAI) == datetime(2026, 11, 23, 5, 30, tzinfo=UTC)


def test_an_allowed_moment_is_kept() -> None:
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert QuietHours().next_allowed(at, SHANGHAI) == at


def test_the_same_instant_is_quiet_in_one_zone_and_allowed_in_another() -> None:
    at = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)  # 21:30 Shanghai, 14:30 Paris
    assert QuietHours().next_allowed(at, "Europe/Paris") == at


def test_windows_are_configurable() -> None:
    hours = QuietHours(
        day_start=time(9), day_end=time(20), blocked=(Window(start=time(12), end=time(14)),)
    )
    at = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 Shanghai
    assert hours.next_allowed(at, SHANGHAI) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError):
        Window(start=time(13), end=time(12))


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_the_next_allowed_moment_is_never_earlier_and_always_allowed(naive: datetime) -> None:
    at = naive.replace(tzinfo=UTC)
    hours = QuietHours()
    allowed = hours.next_allowed(at, SHANGHAI)
    assert allowed >= at
    assert hours.next_allowed(allowed, SHANGHAI) == allowed
    local_time = allowed.astimezone(ZoneInfo(SHANGHAI)).time()
    assert time(8) <= local_time < time(21)
