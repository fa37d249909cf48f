"""Times as the staff read them: in the project's time zone, and countdowns to a due time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FALLBACK_ZONE = "Asia/Shanghai"
"""The zone of a project whose registered zone is unknown (dispatch's default too)."""


def zone(name: str | None) -> ZoneInfo:
    """The time zone called `name`, else the fallback (a project's zone is its own data)."""
    try:
        return ZoneInfo(name or FALLBACK_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(FALLBACK_ZONE)


def parse_instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant from an API answer (None if absent or without an offset)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def local_time(instant: datetime, zone_name: str | None, now: datetime) -> str:
    """`instant` on the wall clock of `zone_name`: `14:05` today there, else `12-03 14:05`.

    Today is the day of `now` in the same zone, so a time just past midnight there shows
    its date even when the reader's own day has not changed.
    """
    tz = zone(zone_name)
    local = instant.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


@dataclass(frozen=True)
class Countdown:
    """Time left to a due time, as shown: `overdue` once past, `clock` as H:MM:SS."""

    overdue: bool
    clock: str


def countdown(due_at: datetime, now: datetime) -> Countdown:
    """The countdown from `now` to `due_at`, whole seconds (the page's script ticks it on).

    A time already past counts up as overdue; 0 seconds left is not yet overdue.
    """
    seconds = int((due_at - now).total_seconds())
    overdue = seconds < 0
    left = abs(seconds)
    hours, rest = divmod(left, 3600)
    minutes, secs = divmod(rest, 60)
    return Countdown(overdue, f"{hours}:{minutes:02d}:{secs:02d}")


def wall_clock_instant(value: str, zone_name: str | None) -> str | None:
    """A date and time typed on `zone_name`'s wall clock (`2026-03-05T18:00`, as a
    `datetime-local` field sends it) as an ISO 8601 instant with its offset; None when
    it is not one."""
    try:
        typed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if typed.tzinfo is not None:
        return None
    return typed.replace(tzinfo=zone(zone_name)).isoformat()
