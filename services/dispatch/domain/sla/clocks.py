"""The SLA engine's two questions, as the service layer asks them.

`react(state, event, at)`: a work-order event was decided; which SLA events does it cause,
and what are the clocks afterwards (`timers(clocks, ...)` says what is pending then)?
`fire(state, timer, now)`: a timer fell due; which event does it raise (none if it is
early, stale or spent), and which timers remain? The caller appends the events and
replaces the stored timers. `react` answers the clocks rather than their timers because a
command decides several events in one append: the timers are worked out once, after the
last.
`state` (`Clocks`) is everything the answer depends on: the fold of the SLA events, the
policy versions, and the work order after the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.dispatch.domain.sla.engine import clock_events
from services.dispatch.domain.sla.policy import PolicyBook
from services.dispatch.domain.sla.state import SlaState, evolve_sla
from services.dispatch.domain.sla.timers import Timer, on_timer, timers
from services.dispatch.domain.workorder import WorkOrderState
from shared.events.base import EventData


@dataclass(frozen=True, slots=True)
class Clocks:
    """One work order's clocks as the engine sees them."""

    sla: SlaState
    policies: PolicyBook
    work_order_id: str
    work_order: WorkOrderState
    project: str | None = None


def react(state: Clocks, event: EventData, at: datetime) -> tuple[list[EventData], SlaState]:
    """The SLA events the work-order `event` decided at `at` causes, and the clocks with
    them folded in.

    `state.work_order` is the order after `event`; SLA events themselves cause nothing.
    """
    return clock_events(
        state.sla,
        state.policies,
        state.work_order_id,
        state.work_order,
        event,
        at,
        project=state.project,
    )


def fire(state: Clocks, timer: Timer, now: datetime) -> tuple[list[EventData], list[Timer]]:
    """The event `timer` raises at `now` (nothing if early, stale or spent), and the timers after."""
    raised = on_timer(state.sla, state.policies, timer, now)
    after = state.sla
    for event in raised:
        after = evolve_sla(after, event, now)
    return raised, timers(after, state.policies, state.work_order_id)
