"""The durable timers of a work order as typed values: two kinds, one table, one scheduler.

An SLA clock's timer (a warning, the breach, an escalation step: `sla.Timer`) and an
offer's expiry share the timer table and its claim protocol. Each kind is a `Timer`
here; the scheduler hands the due timers of a work order to the handler registered for
their kind (`TimerHandlers`), so a third kind is one class and one registration.

The table stores a timer's fields as JSON (`TimerRow.timer`) in the shape it always had
(an offer's is `{"clock": "offer", "attempt": …, "work_order_id": …}`), so rows written
before these types existed read back unchanged and no migration was needed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from services.dispatch.domain import sla
from services.dispatch.service_layer.ports import TimerRow
from shared.events.sla import ClockName

OFFER_CLOCK = "offer"
"""The `clock` column of an offer's expiry timer (the SLA clocks use their names)."""


class TimerKind(StrEnum):
    """Which machinery a timer belongs to, and so which handler fires it."""

    SLA_CLOCK = "sla_clock"
    OFFER_EXPIRY = "offer_expiry"


@dataclass(frozen=True, slots=True)
class Timer(ABC):
    """A pending instant of one work order at which something must be checked."""

    kind: ClassVar[TimerKind]
    work_order_id: str

    @property
    @abstractmethod
    def key(self) -> str:
        """Unique among the work order's timers (the table's key with the order's id)."""

    @property
    @abstractmethod
    def clock(self) -> str:
        """The table's `clock` column."""

    @property
    @abstractmethod
    def fires_at(self) -> datetime:
        """When a scheduler may fire it."""

    @property
    @abstractmethod
    def due_at(self) -> datetime:
        """The instant it stands for (reported as scheduled)."""

    @abstractmethod
    def data(self) -> dict[str, Any]:
        """The timer's fields as the table stores them (JSON)."""

    def row(self) -> TimerRow:
        """The durable form of the timer."""
        return TimerRow(
            key=self.key,
            clock=self.clock,
            fires_at=self.fires_at,
            due_at=self.due_at,
            timer=self.data(),
        )


@dataclass(frozen=True, slots=True)
class ClockTimer(Timer):
    """An SLA clock's timer: a warning threshold, the breach, or an escalation step."""

    kind: ClassVar[TimerKind] = TimerKind.SLA_CLOCK
    timer: sla.Timer

    @property
    def key(self) -> str:
        return self.timer.key

    @property
    def clock(self) -> str:
        return self.timer.clock.value

    @property
    def fires_at(self) -> datetime:
        return self.timer.fires_at

    @property
    def due_at(self) -> datetime:
        return self.timer.due_at

    def row(self) -> TimerRow:
        # Straight from the domain timer, not through the properties: this runs for every
        # pending timer of every append.
        timer = self.timer
        return TimerRow(timer.key, timer.clock.value, timer.fires_at, timer.due_at, self.data())

    def data(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, whose deep copy showed in
        # profiles: this runs for every pending timer of every append.
        timer = self.timer
        return {
            "clock": timer.clock.value,
            "cycle": timer.cycle,
            "kind": timer.kind.value,
            "due_at": timer.due_at.isoformat(),
            "threshold": timer.threshold,
            "level": timer.level,
            "trigger": timer.trigger,
            "work_order_id": timer.work_order_id,
        }


@dataclass(frozen=True, slots=True)
class OfferExpiry(Timer):
    """The moment offer `attempt` of a work order lapses unless someone accepted it."""

    kind: ClassVar[TimerKind] = TimerKind.OFFER_EXPIRY
    attempt: int
    expires_at: datetime

    @property
    def key(self) -> str:
        return f"{OFFER_CLOCK}:{self.attempt}"

    @property
    def clock(self) -> str:
        return OFFER_CLOCK

    @property
    def fires_at(self) -> datetime:
        return self.expires_at

    @property
    def due_at(self) -> datetime:
        return self.expires_at

    def data(self) -> dict[str, Any]:
        return {"clock": OFFER_CLOCK, "attempt": self.attempt, "work_order_id": self.work_order_id}


def timer_from_row(work_order_id: str, data: Mapping[str, Any], due_at: datetime) -> Timer:
    """The typed timer of a table row: its `timer` JSON and its `due_at` column."""
    if data.get("clock") == OFFER_CLOCK:
        return OfferExpiry(work_order_id, attempt=int(data["attempt"]), expires_at=due_at)
    domain_timer = sla.Timer(
        clock=ClockName(data["clock"]),
        cycle=int(data["cycle"]),
        kind=sla.TimerKind(data["kind"]),
        due_at=datetime.fromisoformat(data["due_at"]),
        threshold=data.get("threshold"),
        level=data.get("level"),
        trigger=data.get("trigger"),
        work_order_id=data.get("work_order_id"),
    )
    return ClockTimer(work_order_id, domain_timer)


Handler = Callable[[str, Sequence[Timer], datetime], Awaitable[int]]
"""Fires a work order's due timers of one kind at `now`; returns how many events."""


class TimerHandlers:
    """Which handler fires which kind of timer; kinds fire in registration order."""

    def __init__(self) -> None:
        self._handlers: dict[TimerKind, Handler] = {}

    def register(self, kind: TimerKind, handler: Handler) -> None:
        """Make `handler` the one that fires timers of `kind` (one handler per kind)."""
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind} timers is registered already")
        self._handlers[kind] = handler

    async def fire(self, work_order_id: str, due: Sequence[Timer], now: datetime) -> int:
        """Hand each kind's share of `due` to its handler; return how many events in all."""
        unhandled = {timer.kind for timer in due} - self._handlers.keys()
        if unhandled:
            raise LookupError(f"no handler for {sorted(unhandled)} timers")
        raised = 0
        for kind, handler in self._handlers.items():
            mine = [timer for timer in due if timer.kind is kind]
            if mine:
                raised += await handler(work_order_id, mine, now)
        return raised
