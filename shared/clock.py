"""One injectable source of time for every component.

Production code asks a `Clock` for the time instead of calling `datetime.now`, so
tests (and the simulator) can move time forward by hand and run a day of SLA time
in milliseconds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of the current instant (always tz-aware UTC)."""

    def now(self) -> datetime:
        """Return the current instant in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for `seconds` of this clock's time."""
        ...


class SystemClock:
    """The wall clock: UTC now and real sleeping."""

    def now(self) -> datetime:
        """Return the current wall-clock instant in UTC."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that moves only when told to; sleepers wake when time passes their deadline."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a tz-aware start instant")
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        """Return the instant the clock was last set or advanced to."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced past now + `seconds`."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), future))
        await future

    def advance(self, delta: timedelta) -> None:
        """Move time forward by `delta` and wake every sleeper whose deadline has passed."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self._now += delta
        due = [(at, f) for at, f in self._sleepers if at <= self._now]
        self._sleepers = [(at, f) for at, f in self._sleepers if at > self._now]
        for _, future in due:
            if not future.done():
                future.set_result(None)


def utc(value: datetime) -> datetime:
    """Return `value` in UTC, refusing naive datetimes (their zone would be a guess)."""
    if value.tzinfo is None:
        raise ValueError(
            "a datetime without a time zone is ambiguous; send an offset such as +08:00"
        )
    return value.astimezone(UTC)
