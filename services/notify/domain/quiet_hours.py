"""Quiet hours (勿扰时段): when a non-urgent message may reach a resident.

The seeds: 非紧急情况下,避免用餐时间、清晨和晚上21时以后给业户打电话. A message outside
the allowed hours of the project's time zone waits for the next allowed moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from services.notify.domain.model import Audience


def held_by_quiet_hours(audience: str, urgent: bool) -> bool:
    """Whether quiet hours apply: to non-urgent messages to residents; staff alerts go at once."""
    return audience == Audience.RESIDENT and not urgent


class Window(BaseModel):
    """A blocked stretch of local time within one day, [start, end)."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("a quiet window ends after it starts, within one day")
        return self


class QuietHours(BaseModel):
    """The allowed day (08:00-21:00 by default) less the meal windows."""

    model_config = ConfigDict(frozen=True)

    day_start: time = time(8, 0)
    day_end: time = time(21, 0)
    blocked: tuple[Window, ...] = (
        Window(start=time(11, 30), end=time(13, 30)),
        Window(start=time(17, 30), end=time(19, 0)),
    )

    @model_validator(mode="after")
    def _ordered(self) -> QuietHours:
        if self.day_end <= self.day_start:
            raise ValueError("day_end must be after day_start")
        return self

    def next_allowed(self, at: datetime, time_zone: str) -> datetime:
        """The first instant at or after `at` (UTC) when a non-urgent message may go out."""
        zone = ZoneInfo(time_zone)
        local = at.astimezone(zone)
        # At most a couple of moves: past a window, to the next morning, past a window.
        for _ in range(8):
            moved = self._move(local)
            if moved == local:
                return local.astimezone(UTC)
            local = moved
        return local.astimezone(UTC)

    def _move(self, local: datetime) -> datetime:
        zone = local.tzinfo
        clock = local.timetz().replace(tzinfo=None)
        if clock < self.day_start:
            return datetime.combine(local.date(), self.day_start, zone)
        if clock >= self.day_end:
            return datetime.combine(local.date() + timedelta(days=1), self.day_start, zone)
        for window in self.blocked:
            if window.start <= clock < window.end:
                return datetime.combine(local.date(), window.end, zone)
        return local
