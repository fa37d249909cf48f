"""The SLA state of a work order: the fold of its SLA events, per clock.

The events carry everything the fold needs (due times, targets, elapsed business time),
so folding needs neither the policy nor the calendars, and gives the same state whenever
the stream is replayed.

A clock counts business time only while running: `elapsed_before` is what earlier runs
counted, and the current run counts from `running_since` on the clock's calendar. Paused,
met and cancelled clocks count nothing, so paused time is never counted and never lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from services.dispatch.domain.sla.calendar import BusinessCalendar
from services.dispatch.domain.sla.rules import fraction_of
from services.dispatch.domain.workorder import UnfoldableEvent
from shared.clock import utc
from shared.events.base import EventData
from shared.events.sla import (
    ClockName,
    SlaCalendarUnconfirmed,
    SlaClockBreached,
    SlaClockCancelled,
    SlaClockEvent,
    SlaClockMet,
    SlaClockPaused,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
    SlaEscalated,
    SlaWarningRaised,
)


class Outcome(StrEnum):
    """How a clock's cycle ended."""

    MET = "met"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Pause:
    """Why and since when a clock is paused; `trigger` is the event type that paused it."""

    reason: str
    trigger: str
    since: datetime


@dataclass(frozen=True)
class ClockState:
    """One cycle of one clock.

    `due_at` is the due time in force; while paused it is the one in force when the pause
    began (the resume moves it). `consent`: the resident agreed to move the original
    promise; `promised`: the due time is an instant promised to the resident. `warnings`
    are the thresholds raised, `escalations` the time-driven steps taken as (trigger,
    level). `breached_at` is the due time that was passed, not the time it was noticed.
    """

    clock: ClockName
    cycle: int
    policy_version: int
    calendar: str
    target: timedelta
    started_at: datetime
    due_at: datetime
    elapsed_before: timedelta = timedelta(0)
    running_since: datetime | None = None
    paused: Pause | None = None
    consent: bool = False
    promised: bool = False
    warnings: frozenset[float] = frozenset()
    escalations: frozenset[tuple[str, int]] = frozenset()
    breached_at: datetime | None = None
    outcome: Outcome | None = None
    ended_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Running or paused: neither met nor cancelled."""
        return self.outcome is None

    @property
    def running(self) -> bool:
        """Counting business time now."""
        return self.running_since is not None

    def elapsed_at(self, calendar: BusinessCalendar, at: datetime) -> timedelta:
        """The business time counted by this cycle up to `at`."""
        if self.running_since is None:
            return self.elapsed_before
        return self.elapsed_before + calendar.elapsed(self.running_since, at)

    def instant_at(self, calendar: BusinessCalendar, business: timedelta) -> datetime:
        """When the current run brings the elapsed time to `business` (a running clock).

        A point already passed in an earlier run is due at once: at the run's start.
        """
        assert self.running_since is not None, "only a running clock reaches new points"
        if business <= self.elapsed_before:
            return self.running_since
        return calendar.add(self.running_since, business - self.elapsed_before)

    def due_after(self, calendar: BusinessCalendar, at: datetime, remaining: timedelta) -> datetime:
        """The due time if the clock counts from `at` on with `remaining` business time left."""
        if remaining > timedelta(0):
            return calendar.add(at, remaining)
        # Nothing left: a breach already recorded keeps its instant; otherwise it is due now.
        return self.due_at if self.breached_at is not None else at

    def figures(
        self, calendar: BusinessCalendar, at: datetime, target: timedelta | None = None
    ) -> dict[str, Any]:
        """The fields every SLA event about this clock carries, measured at `at`.

        `target` replaces the clock's own when an event announces a new one.
        """
        elapsed = self.elapsed_at(calendar, at)
        target = self.target if target is None else target
        return {
            "clock": self.clock,
            "cycle": self.cycle,
            "policy_version": self.policy_version,
            "elapsed_seconds": elapsed.total_seconds(),
            "remaining_seconds": (target - elapsed).total_seconds(),
        }


@dataclass(frozen=True)
class SlaState:
    """Every clock of a work order (the latest cycle of each name), the event-driven
    escalations already made: trigger → the last occurrence escalated (2 for a second reopen),
    and the years each clock was warned of as having no known public-holiday schedule
    (across its cycles: a clock warns once per year).

    Never mutated: `evolve_sla` returns a new state with new mappings.
    """

    clocks: Mapping[ClockName, ClockState] = field(default_factory=dict)
    event_escalations: Mapping[str, int] = field(default_factory=dict)
    calendar_warnings: Mapping[ClockName, frozenset[int]] = field(default_factory=dict)

    def policy_versions(self) -> frozenset[int]:
        """The policy versions the clocks still running (or paused) run under."""
        return frozenset(c.policy_version for c in self.clocks.values() if c.active)

    def with_clock(self, clock: ClockState) -> SlaState:
        """This state with `clock` replacing the clock of its name."""
        return replace(self, clocks={**self.clocks, clock.clock: clock})


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def evolve_sla(sla: SlaState, event: EventData, at: datetime) -> SlaState:
    """Apply one SLA event that happened at `at`; any other event leaves the state as is."""
    if not isinstance(event, SlaClockEvent):
        return sla
    if isinstance(event, SlaClockStarted):
        began = at if event.started_at is None else utc(event.started_at)
        return sla.with_clock(
            ClockState(
                clock=event.clock,
                cycle=event.cycle,
                policy_version=event.policy_version,
                calendar=event.calendar,
                target=_seconds(event.target_seconds),
                started_at=began,
                due_at=event.due_at,
                # Counted from `began` on; what the event reports up to `at` is within it.
                running_since=began,
                promised=event.promised,
            )
        )
    if isinstance(event, SlaCalendarUnconfirmed):
        warned = sla.calendar_warnings.get(event.clock, frozenset()) | set(event.years)
        return replace(sla, calendar_warnings={**sla.calendar_warnings, event.clock: warned})
    if isinstance(event, SlaEscalated) and event.occurrence is not None:
        done = max(sla.event_escalations.get(event.trigger, 0), event.occurrence)
        return replace(sla, event_escalations={**sla.event_escalations, event.trigger: done})
    clock = sla.clocks.get(event.clock)
    if clock is None or clock.cycle != event.cycle:
        raise UnfoldableEvent(
            f"{event.type_name} for {event.clock} cycle {event.cycle}, not started"
        )
    return sla.with_clock(_apply(clock, event, at))


def _apply(clock: ClockState, event: SlaClockEvent, at: datetime) -> ClockState:
    elapsed = _seconds(event.elapsed_seconds)
    match event:
        case SlaClockPaused(reason=reason, trigger=trigger, due_at=due_at):
            pause = Pause(reason=reason, trigger=trigger, since=at)
            return replace(
                clock, elapsed_before=elapsed, running_since=None, paused=pause, due_at=due_at
            )
        case SlaClockResumed(due_at=due_at):
            return replace(clock, running_since=at, paused=None, due_at=due_at)
        case SlaWarningRaised(threshold=threshold):
            return replace(clock, warnings=clock.warnings | {threshold})
        case SlaClockBreached(due_at=due_at):
            return replace(clock, breached_at=due_at)
        case SlaEscalated(trigger=trigger, level=level):
            return replace(clock, escalations=clock.escalations | {(trigger, level)})
        case SlaClockMet() | SlaClockCancelled():
            outcome = Outcome.MET if isinstance(event, SlaClockMet) else Outcome.CANCELLED
            return replace(
                clock,
                elapsed_before=elapsed,
                running_since=None,
                paused=None,
                outcome=outcome,
                ended_at=at,
            )
        case SlaClockRecalculated():
            return _recalculated(clock, event, elapsed, at)
    raise UnfoldableEvent(f"{event.type_name} is not an SLA clock event")


def _recalculated(
    clock: ClockState, event: SlaClockRecalculated, elapsed: timedelta, at: datetime
) -> ClockState:
    target = _seconds(event.target_seconds)

    # Warnings and steps of the ladder that the new target puts back in the future are
    # raised again when reached; those still behind stay raised. A breach stays a breach.
    def still_behind(fraction: float) -> bool:
        return target * fraction <= elapsed

    steps = {
        (trigger, level)
        for trigger, level in clock.escalations
        if (fraction := fraction_of(trigger)) is None or still_behind(fraction)
    }
    return replace(
        clock,
        policy_version=event.policy_version,
        calendar=event.calendar,
        target=target,
        due_at=event.due_at,
        elapsed_before=elapsed,
        running_since=at if clock.running else None,
        consent=clock.consent or event.with_consent,
        promised=event.promised,
        warnings=frozenset(t for t in clock.warnings if still_behind(t)),
        escalations=frozenset(steps),
    )


def fold_sla(events: Iterable[tuple[EventData, datetime]]) -> SlaState:
    """The SLA state after `(event, occurred_at)` pairs; work-order events are skipped."""
    sla = SlaState()
    for event, at in events:
        sla = evolve_sla(sla, event, at)
    return sla
