"""Timers as data: the instants at which a running clock needs attention, and what firing one does.

`timers` is a pure function of the SLA state and the policy, so a durable timer table can
be dropped and rebuilt from the events. `on_timer` checks a fired timer against the timers
the state still has: a timer fired twice, or made stale because its clock was met,
cancelled, paused or recalculated since, yields nothing. A late timer (after a downtime)
yields its event once, carrying the true scheduled instant and the detection time.

Order at one instant: warnings (lowest threshold first), then steps of the ladder at a
fraction of the target, then the breach, then the steps after the breach (shortest delay
first); a scheduler fires due timers in the order `timers` lists them. A breach happens
strictly after the due time: its timer `fires_at` one microsecond (the resolution of a
datetime) after `due_at`, so a stop recorded at the due time itself always wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.dispatch.domain.sla.policy import PolicyBook, SlaPolicy
from services.dispatch.domain.sla.state import ClockState, SlaState
from shared.events.base import EventData
from shared.events.sla import ClockName, SlaClockBreached, SlaEscalated, SlaWarningRaised

ONE_TICK = timedelta(microseconds=1)


class TimerKind(StrEnum):
    """What a timer raises when it fires."""

    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


# Rank of each sort of timer at one instant; the step's "before breach" flag picks 1 or 3.
_RANK = {TimerKind.WARNING: 0, TimerKind.BREACH: 2}
_CLOCK_ORDER = {name: position for position, name in enumerate(ClockName)}


@dataclass(frozen=True)
class Timer:
    """One pending instant of one clock cycle: a warning threshold, the breach, or a step.

    `due_at` is the instant the event reports as scheduled; a scheduler wakes at `fires_at`.
    """

    clock: ClockName
    cycle: int
    kind: TimerKind
    due_at: datetime
    threshold: float | None = None
    level: int | None = None
    trigger: str | None = None
    work_order_id: str | None = None

    @property
    def fires_at(self) -> datetime:
        """When the timer may fire: a breach only after its due time has passed."""
        return self.due_at + ONE_TICK if self.kind is TimerKind.BREACH else self.due_at

    @property
    def key(self) -> str:
        """Unique among a work order's timers: `resolution:2:warning:0.8`, `arrival:1:breach`,
        `resolution:1:escalation:breach+30m:3`."""
        # One f-string (the enums format as their values): this runs for every pending
        # timer of every append, and the generic join showed in the profile.
        head = f"{self.clock}:{self.cycle}:{self.kind}"
        if self.kind is TimerKind.WARNING:
            return f"{head}:{self.threshold}"
        if self.kind is TimerKind.ESCALATION:
            return f"{head}:{self.trigger}:{self.level}"
        return head

    def sort_key(self) -> tuple[datetime, int, float, int, int]:
        """Due instant, then the order at one instant (see the module), then the clock."""
        rank = _RANK.get(self.kind, 1 if self.trigger and self.trigger.startswith("at_") else 3)
        return (self.due_at, rank, self.threshold or 0.0, self.level or 0, _CLOCK_ORDER[self.clock])


def timers(sla: SlaState, policies: PolicyBook, work_order_id: str | None = None) -> list[Timer]:
    """Every pending timer of the running clocks, in firing order; paused clocks have none.

    Each clock's timers follow the policy version it runs under.
    """
    pending = [
        timer
        for clock in sla.clocks.values()
        if clock.active and clock.running
        for timer in clock_timers(clock, policies.of(clock.policy_version), work_order_id)
    ]
    return sorted(pending, key=Timer.sort_key)


def clock_timers(
    clock: ClockState, policy: SlaPolicy, work_order_id: str | None = None
) -> list[Timer]:
    """The pending timers of one running clock, unsorted."""
    calendar = policy.calendar(clock.calendar)

    def timer(
        kind: TimerKind,
        due_at: datetime,
        threshold: float | None = None,
        level: int | None = None,
        trigger: str | None = None,
    ) -> Timer:
        return Timer(
            clock.clock, clock.cycle, kind, due_at, threshold, level, trigger, work_order_id
        )

    steps = [s for s in policy.escalation if s.applies_to(clock.clock)]
    if clock.breached_at is not None:
        # Once breached, only the steps after the breach remain; warnings are moot.
        return [
            timer(
                TimerKind.ESCALATION,
                clock.breached_at + s.after_breach,
                level=s.level,
                trigger=s.trigger,
            )
            for s in steps
            if s.after_breach is not None and (s.trigger, s.level) not in clock.escalations
        ]
    found = [timer(TimerKind.BREACH, clock.due_at)]
    for threshold in policy.warning_thresholds:
        if threshold not in clock.warnings:
            due = clock.instant_at(calendar, clock.target * threshold)
            # The due time comes from the events (maybe a promised instant) and this one
            # from the calendar: whatever either's rounding, a warning never follows the breach.
            found.append(timer(TimerKind.WARNING, min(due, clock.due_at), threshold=threshold))
    for step in steps:
        if step.at_fraction is not None and (step.trigger, step.level) not in clock.escalations:
            due = clock.instant_at(calendar, clock.target * step.at_fraction)
            found.append(
                timer(
                    TimerKind.ESCALATION,
                    min(due, clock.due_at),
                    level=step.level,
                    trigger=step.trigger,
                )
            )
    return found


def on_timer(sla: SlaState, policies: PolicyBook, timer: Timer, now: datetime) -> list[EventData]:
    """The event a fired timer raises at `now`, or nothing if it is early, stale or spent."""
    if now < timer.fires_at:
        return []
    clock = sla.clocks.get(timer.clock)
    if clock is None or timer not in timers(sla, policies, timer.work_order_id):
        return []
    return [timer_event(clock, policies.of(clock.policy_version), timer, now)]


def timer_event(clock: ClockState, policy: SlaPolicy, timer: Timer, now: datetime) -> EventData:
    """The event of a pending `timer` of `clock` detected at `now` (no checks: see on_timer)."""
    calendar = policy.calendar(clock.calendar)
    # Measured at the scheduled instant, so the event does not depend on the lateness.
    figures = clock.figures(calendar, timer.due_at)
    match timer.kind:
        case TimerKind.WARNING:
            assert timer.threshold is not None
            return SlaWarningRaised(
                **figures,
                due_at=clock.due_at,
                threshold=timer.threshold,
                scheduled_for=timer.due_at,
                detected_at=now,
            )
        case TimerKind.BREACH:
            return SlaClockBreached(**figures, due_at=clock.due_at, detected_at=now)
    step = next(
        s for s in policy.escalation if (s.trigger, s.level) == (timer.trigger, timer.level)
    )
    return SlaEscalated(
        **figures,
        due_at=clock.due_at,
        level=step.level,
        trigger=step.trigger,
        to_role=step.to_role,
        to_person=step.to_person,
        scheduled_for=timer.due_at,
        detected_at=now,
    )
