"""A work order told with its SLA clocks: commands decided at a moving `now`, timers fired.

Every decided work-order event goes through `react`; `wait` moves a `ManualClock` forward
and fires each timer at the instant it is due, as a punctual scheduler would; `downtime`
moves it without firing, and `wake` then fires whatever is overdue, late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from services.dispatch.domain.commands import Command, ReportWorkOrder
from services.dispatch.domain.sla import (
    Clocks,
    ClockState,
    PolicyBook,
    SlaPolicy,
    SlaState,
    Timer,
    default_policy,
    evolve_sla,
    fire,
    react,
    timers,
)
from services.dispatch.domain.workorder import Actor, WorkOrderState, decide, evolve
from shared.clock import ManualClock
from shared.events.base import EventData
from shared.events.sla import ClockName, SlaClockEvent
from shared.events.workorder import Urgency, WorkOrderKind

from .builders import SUPERVISOR, report

MONDAY_9AM = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)
"""Monday 6 May 2024, 09:00 in Shanghai: an ordinary working day."""


def reported(
    kind: WorkOrderKind = WorkOrderKind.REPAIR,
    category: str = "plumbing",
    urgency: Urgency = Urgency.NORMAL,
) -> ReportWorkOrder:
    """The builders' report, of any kind, category and urgency."""
    return report(kind).model_copy(update={"kind": kind, "category": category, "urgency": urgency})


@dataclass
class SlaStory:
    """One work order and its clocks under `policy`, at the time of `clock`."""

    policy: SlaPolicy = field(default_factory=default_policy)
    earlier: dict[int, SlaPolicy] = field(default_factory=dict)
    """Versions published before `policy`, which running clocks may still run under."""
    clock: ManualClock = field(default_factory=lambda: ManualClock(MONDAY_9AM))
    work_order_id: str = "wo-1"
    project: str = "sunny-garden"
    state: WorkOrderState | None = None
    sla: SlaState = field(default_factory=SlaState)
    log: list[tuple[EventData, datetime]] = field(default_factory=list)

    @property
    def book(self) -> PolicyBook:
        """The current policy and the earlier versions."""
        return PolicyBook(self.policy, self.earlier)

    def publish(self, policy: SlaPolicy) -> None:
        """Make `policy` the current version; the previous one stays for its running clocks."""
        self.earlier[self.policy.version] = self.policy
        self.policy = policy

    @property
    def now(self) -> datetime:
        """The story's current instant."""
        return self.clock.now()

    @property
    def current(self) -> WorkOrderState:
        """The work order, which exists once reported."""
        assert self.state is not None
        return self.state

    def at(self, name: ClockName) -> ClockState:
        """The state of one clock."""
        return self.sla.clocks[name]

    def do(self, command: Command, actor: Actor = SUPERVISOR) -> list[EventData]:
        """Decide `command` now, apply its events and their SLA events; return the SLA ones."""
        caused: list[EventData] = []
        for event in decide(self.state, command, actor, self.now):
            self.state = evolve(self.state, event, self.now)
            self.log.append((event, self.now))
            clocks = Clocks(self.sla, self.book, self.work_order_id, self.current, self.project)
            sla_events, _ = react(clocks, event, self.now)
            self.record(sla_events)
            caused += sla_events
        return caused

    def record(self, sla_events: list[EventData]) -> None:
        """Fold SLA events decided now into the state and the log."""
        for event in sla_events:
            self.sla = evolve_sla(self.sla, event, self.now)
            # As the service layer does: the work order folds its SLA events too.
            self.state = evolve(self.state, event, self.now)
            self.log.append((event, self.now))

    def timers(self) -> list[Timer]:
        """The pending timers."""
        return timers(self.sla, self.book, self.work_order_id)

    def wait(self, delta: timedelta) -> list[EventData]:
        """Let `delta` pass, firing every timer at the instant it fires; return the events."""
        until = self.now + delta
        fired: list[EventData] = []
        while due := [t for t in self.timers() if t.fires_at <= until]:
            timer = due[0]
            self.clock.advance(max(timer.fires_at - self.now, timedelta(0)))
            clocks = Clocks(self.sla, self.book, self.work_order_id, self.current, self.project)
            events, _ = fire(clocks, timer, self.now)
            assert events, f"a pending timer yielded nothing: {timer}"
            self.record(events)
            fired += events
        self.clock.advance(until - self.now)
        return fired

    def downtime(self, delta: timedelta) -> None:
        """Let `delta` pass with the scheduler down: nothing fires."""
        self.clock.advance(delta)

    def wake(self) -> list[EventData]:
        """The scheduler is back: fire every overdue timer once, now, in order."""
        return self.wait(timedelta(0))

    def sla_events(self) -> list[SlaClockEvent]:
        """Every SLA event so far, in order."""
        return [e for e, _ in self.log if isinstance(e, SlaClockEvent)]


E = TypeVar("E", bound=EventData)


def only(events: Sequence[EventData], kind: type[E], clock: ClockName | None = None) -> list[E]:
    """The events of one type (about one clock, if given)."""
    return [
        e
        for e in events
        if isinstance(e, kind) and (clock is None or getattr(e, "clock", None) is clock)
    ]
