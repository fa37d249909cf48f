"""One supervisor for a service's background loops.

A service's loops (dispatch's relay and SLA scheduler, notify's sender, outbox and bus
consumer, reporting's projector and KPI publisher) run until the service stops. A loop
that raises, or returns while nobody asked it to stop, would otherwise vanish silently
and leave the API answering while nothing is published, fired or sent. The `Runner`
starts each loop as a task, restarts a failed one after a growing delay, shows every
loop's state on `/readyz` and as metrics, and stops the loops in the reverse order of
their start (the consumers before what they feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from prometheus_client import Counter, Gauge

from shared.logging import get_logger

log = get_logger(__name__)

LOOP_UP = Gauge(
    "background_loop_up", "1 while a background loop runs, 0 while it waits to restart", ["loop"]
)
LOOP_RESTARTS = Counter(
    "background_loop_restarts_total",
    "Times a background loop failed (raised or ended unasked) and was restarted",
    ["loop"],
)

LoopState = Literal["running", "restarting", "stopped"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long a failed loop waits before its next start."""

    first_seconds: float = 0.5
    most_seconds: float = 30.0
    stable_seconds: float = 60.0
    """A loop that ran this long before failing is restarted after `first_seconds` again:
    its earlier failures are not held against it."""

    def delay(self, failures_in_a_row: int) -> float:
        """The wait before the next start after `failures_in_a_row` (1 or more) failures."""
        doublings = min(failures_in_a_row - 1, 32)  # 2**32 × first is past any sane limit
        return float(min(self.first_seconds * 2**doublings, self.most_seconds))


@dataclass
class LoopHealth:
    """What `/readyz` shows of one loop."""

    state: LoopState = "running"
    restarts: int = 0
    last_error: str | None = None
    """The type of the last failure (its message may hold data; the log has it in full)."""
    last_failed_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The health as JSON-ready values."""
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_failed_at": None
            if self.last_failed_at is None
            else self.last_failed_at.isoformat(),
        }


@dataclass
class _Loop:
    task: asyncio.Task[None]
    health: LoopHealth = field(default_factory=LoopHealth)


class Runner:
    """Starts, restarts and stops the background loops of one process."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_restart: Callable[[str], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._backoff = backoff or Backoff()
        self._monotonic = monotonic
        self._sleep = sleep
        self._on_restart = on_restart
        self._loops: dict[str, _Loop] = {}
        self._stopping = False

    def start(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work()` as the loop `name` until `stop()`, starting it again if it fails.

        Starting a name that is already running is a programming error: two copies of
        one loop would each think they own its work.
        """
        if self._stopping:
            raise RuntimeError(f"the runner is stopping; {name!r} was not started")
        if name in self._loops:
            raise ValueError(f"a loop named {name!r} is already running")
        task = asyncio.create_task(self._supervise(name, work), name=name)
        self._loops[name] = _Loop(task)
        LOOP_UP.labels(name).set(1)

    def running(self, name: str) -> bool:
        """Whether a loop of this name was started and not stopped."""
        return name in self._loops

    @property
    def healthy(self) -> bool:
        """Every loop is running (none is waiting to restart)."""
        return all(loop.health.state == "running" for loop in self._loops.values())

    def health(self) -> dict[str, dict[str, Any]]:
        """Each loop's health, by name, in start order."""
        return {name: loop.health.as_dict() for name, loop in self._loops.items()}

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop every loop, the last started first, each finishing its cancellation.

        A loop gets `grace_seconds` to finish; one that does not (a library that swallows
        the cancellation, a close that waits on a dead connection) is logged and left
        behind, so the process still stops and releases what comes after it.
        """
        self._stopping = True
        for name in reversed(list(self._loops)):
            loop = self._loops[name]
            loop.task.cancel()
            done, _ = await asyncio.wait({loop.task}, timeout=grace_seconds)
            if done:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.task.result()
                loop.health.state = "stopped"
            else:
                log.error("runner.loop_did_not_stop", loop=name, grace_seconds=grace_seconds)
            LOOP_UP.labels(name).set(0)

    async def _supervise(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        while True:
            # `start` records the loop before this task first runs.
            health = self._loops[name].health
            health.state = "running"
            LOOP_UP.labels(name).set(1)
            began = self._monotonic()
            try:
                await work()
                if self._stopping:
                    return  # a loop that watches the service's stop flag ends on its own
                reason = "ended without being asked to stop"
                error_type = "LoopEnded"
                log.error("runner.loop_ended", loop=name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopping:
                    # Stopping: whatever the loop met on its way out (a library that
                    # swallowed the cancellation, a start refused) ends it for good.
                    return
                reason = repr(exc)
                error_type = type(exc).__name__
                log.error("runner.loop_failed", loop=name, error=reason, exc_info=True)
            if self._monotonic() - began >= self._backoff.stable_seconds:
                failures = 0
            failures += 1
            delay = self._backoff.delay(failures)
            health.state = "restarting"
            health.restarts += 1
            health.last_error = error_type
            health.last_failed_at = datetime.now(UTC)
            LOOP_UP.labels(name).set(0)
            LOOP_RESTARTS.labels(name).inc()
            log.info("runner.loop_restarting", loop=name, after_seconds=delay, reason=reason)
            if self._on_restart is not None:
                self._on_restart(name)
            await self._sleep(delay)
