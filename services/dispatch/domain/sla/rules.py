"""The parts of an SLA policy: clock rules, pause rules and escalation steps.

A rule names the work-order events (by their type names, `workorder.completed`) that start,
stop, pause, resume, retarget, restart or cancel its clock, so the state machine in `sla`
knows no clock by name. `policy` puts rules together into a versioned policy.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.dispatch.domain.workorder import WorkOrderState
from shared.events.sla import ClockName, EscalationRole
from shared.events.workorder import WORK_ORDER_EVENTS, PauseReason, Urgency, WorkOrderKind
from shared.inputs import ONE_LINE, Line

EventType = Annotated[str, Field(min_length=1, max_length=100)]
"""A work-order event type name such as `workorder.completed`."""

Fraction = Annotated[float, Field(gt=0, lt=1)]

FROM_COMMITMENT: Literal["commitment"] = "commitment"
"""A target read from the event that starts or moves the clock (the promised time)."""

_KNOWN_EVENTS = frozenset(cls.type_name for cls in WORK_ORDER_EVENTS)
_Frozen = ConfigDict(frozen=True, extra="forbid")


def _known(triggers: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(triggers) - _KNOWN_EVENTS)
    if unknown:
        raise ValueError(f"{where}: unknown work-order event types {unknown}")


class PauseRule(BaseModel):
    """`on` pauses the clock (for a paused event, only with one of `reasons`); `until` resumes it."""

    model_config = _Frozen

    on: EventType
    reasons: tuple[PauseReason, ...] | None = None
    until: tuple[EventType, ...]

    @model_validator(mode="after")
    def _known_events(self) -> Self:
        _known((self.on, *self.until), "pause rule")
        return self


class ClockRule(BaseModel):
    """One clock of a policy and the work orders it applies to (None: any).

    `target` is business time on `calendar`, or `FROM_COMMITMENT`: the clock runs to the
    instant carried by the starting event (a commitment's `due_at`). Such a clock started
    before anything was promised runs to `until_promised` (the resolution clock's default
    of 2 days from the report) until a commitment moves it; without `until_promised` it
    waits for the commitment to start it. `retarget_on` events
    carry a new instant (`postponed`, `arrival_delay_agreed`, `appointment_scheduled`: the
    booked time plus `appointment_grace`); `restart_on` events meet the
    current cycle and start the next one (progress reports). `sampling_rate` is the share
    of work orders the clock runs on, chosen by a hash of the work-order id so the choice
    is the same whenever it is asked.
    """

    model_config = _Frozen

    name: ClockName
    # A policy is published over HTTP: its names are one line each, like every input.
    projects: tuple[Line, ...] | None = None
    categories: tuple[Line, ...] | None = None
    kinds: tuple[WorkOrderKind, ...] | None = None
    urgencies: tuple[Urgency, ...] | None = None
    calendar: Line = "24x7"
    target: timedelta | Literal["commitment"]
    urgent_target: timedelta | None = None
    until_promised: timedelta | None = None
    start_on: tuple[EventType, ...]
    stop_on: tuple[EventType, ...] = ()
    cancel_on: tuple[EventType, ...] = ("workorder.cancelled",)
    pause_on: tuple[PauseRule, ...] = ()
    retarget_on: tuple[EventType, ...] = ()
    restart_on: tuple[EventType, ...] = ()
    appointment_grace: timedelta = timedelta(0)
    sampling_rate: Annotated[float, Field(ge=0, le=1)] = 1.0

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _known(
            (*self.start_on, *self.stop_on, *self.cancel_on, *self.retarget_on, *self.restart_on),
            f"clock rule {self.name.value}",
        )
        if self.until_promised is not None and self.target != FROM_COMMITMENT:
            raise ValueError(
                f"clock rule {self.name.value}: until_promised is for targets from a commitment"
            )
        for duration in (self.target, self.urgent_target, self.until_promised):
            if isinstance(duration, timedelta) and duration <= timedelta(0):
                raise ValueError(f"clock rule {self.name.value}: targets must be positive")
        if self.appointment_grace < timedelta(0):
            raise ValueError(f"clock rule {self.name.value}: appointment_grace cannot be negative")
        return self

    def matches(self, work_order: WorkOrderState, project: str | None) -> bool:
        """Whether every filter of the rule admits this work order in `project`."""
        return (
            (self.projects is None or project in self.projects)
            and (self.categories is None or work_order.category in self.categories)
            and (self.kinds is None or work_order.kind in self.kinds)
            and (self.urgencies is None or work_order.urgency in self.urgencies)
        )

    def specificity(self) -> tuple[bool, bool, bool, bool]:
        """The rank among matching rules of one clock name: compared as a tuple, higher wins."""
        return (
            self.projects is not None,
            self.categories is not None,
            self.kinds is not None,
            self.urgencies is not None,
        )

    def target_for(self, urgency: Urgency) -> timedelta | None:
        """The business-time target for this urgency; None when it comes from a commitment."""
        if urgency is Urgency.URGENT and self.urgent_target is not None:
            return self.urgent_target
        return self.target if isinstance(self.target, timedelta) else None

    def unpromised_target(self, urgency: Urgency) -> timedelta | None:
        """The target of a clock of this rule while nothing is promised: the rule's own
        target, or its `until_promised` default; None when only a promise sets it."""
        return self.target_for(urgency) or self.until_promised

    def samples(self, work_order_id: str) -> bool:
        """Whether the clock runs on this work order: the same answer on every call."""
        if self.sampling_rate >= 1:
            return True
        digest = hashlib.sha256(f"{self.name.value}:{work_order_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.sampling_rate


class EscalationTrigger(StrEnum):
    """Work-order facts that escalate by themselves, whatever the clocks say."""

    SECOND_REOPEN = "second_reopen"
    """The order was reopened a second time (and again at every later reopen)."""
    POSTPONEMENT_OVERRIDE_GRANTED = "postponement_override_granted"
    """A manager allowed a further postponement. A refused second postponement leaves no
    event to react to, so the override that lets it through is what escalates."""
    COMPLAINT_MARKED_VALID = "complaint_marked_valid"
    """A supervisor ruled a complaint valid (有效投诉)."""


class EscalationStep(BaseModel):
    """One rung of the ladder: when, at which level, to whom.

    Exactly one of: `at_fraction` of a running clock's target, `after_breach` (wall-clock
    time after the breach, zero for the breach itself), or `on_event`. Time-driven steps
    apply to `clocks` (None: every clock); an event-driven step is reported against
    `clocks[0]`, the resolution clock when None. `to_person` names someone in particular;
    `to_role` still says in which capacity.
    """

    model_config = _Frozen

    level: Annotated[int, Field(ge=1, le=100)]
    to_role: EscalationRole
    to_person: Annotated[str, Field(min_length=1, max_length=128), ONE_LINE] | None = None
    at_fraction: Fraction | None = None
    after_breach: timedelta | None = None
    on_event: EscalationTrigger | None = None
    clocks: tuple[ClockName, ...] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> Self:
        given = [x for x in (self.at_fraction, self.after_breach, self.on_event) if x is not None]
        if len(given) != 1:
            raise ValueError(
                "an escalation step has exactly one of at_fraction, after_breach, on_event"
            )
        if self.after_breach is not None and self.after_breach < timedelta(0):
            raise ValueError("after_breach cannot be negative")
        return self

    @property
    def trigger(self) -> str:
        """The step's name in events: `at_0.5`, `breach`, `breach+30m`, `second_reopen`."""
        if self.on_event is not None:
            return self.on_event.value
        if self.at_fraction is not None:
            return f"at_{self.at_fraction:g}"
        assert self.after_breach is not None
        return "breach" + (f"+{_short(self.after_breach)}" if self.after_breach else "")

    def applies_to(self, clock: ClockName) -> bool:
        """Whether this time-driven step watches `clock`."""
        return self.on_event is None and (self.clocks is None or clock in self.clocks)

    @property
    def reported_against(self) -> ClockName:
        """The clock an event-driven step is reported against."""
        return self.clocks[0] if self.clocks else ClockName.RESOLUTION


def fraction_of(trigger: str) -> float | None:
    """The fraction of an `at_…` step's trigger (`at_0.5` → 0.5); None for other steps."""
    return float(trigger[3:]) if trigger.startswith("at_") else None


def _short(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{delta.total_seconds():g}s"
