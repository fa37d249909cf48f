"""Collecting the SLA events of one decision while folding them, and catching up on timers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.dispatch.domain.sla.policy import SlaPolicy
from services.dispatch.domain.sla.state import ClockState, SlaState, evolve_sla
from services.dispatch.domain.sla.timers import TimerKind, clock_timers, timer_event
from shared.events.base import EventData
from shared.events.sla import ClockName


@dataclass
class Emitter:
    """Collects the SLA events of one decision, folding each into the state as it goes."""

    sla: SlaState
    at: datetime
    events: list[EventData] = field(default_factory=list)

    def emit(self, event: EventData) -> None:
        """Record `event` and apply it, so later steps see its effect."""
        self.events.append(event)
        self.sla = evolve_sla(self.sla, event, self.at)

    def clock(self, name: ClockName) -> ClockState:
        """The current state of a clock known to exist."""
        return self.sla.clocks[name]

    def catch_up(self, policy: SlaPolicy, name: ClockName, breach_only: bool) -> None:
        """Raise what the scheduler should already have raised by now, in firing order."""
        while True:
            clock = self.clock(name)
            if not (clock.active and clock.running):
                return
            overdue = sorted(
                (
                    t
                    for t in clock_timers(clock, policy)
                    if t.fires_at <= self.at and (t.kind is TimerKind.BREACH or not breach_only)
                ),
                key=lambda t: t.sort_key(),
            )
            if not overdue:
                return
            self.emit(timer_event(clock, policy, overdue[0], self.at))
