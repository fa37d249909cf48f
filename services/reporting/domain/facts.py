"""The facts reporting keeps about one work order, and how each event changes them.

A work order's facts are the fold of its events (work-order and SLA events on the same
stream, in `sequence` order): what it is (kind, category, building, technician and their team), when
things first happened (report, arrival, feedback, completion), and the outcome of every
SLA clock cycle, completion and rating. The KPIs (`kpis`) are computed from these facts
alone, so the read model is exactly as rich as the KPIs need and no richer.

Pure: no I/O. Facts serialise to plain JSON (`to_json` / `from_json`) for the SQL store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from shared.events.sla import ClockName


class OrderStatus:
    """Coarse life-cycle states, enough for backlog and drill-down."""

    REPORTED = "reported"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REOPENED = "reopened"

    OPEN = frozenset({REPORTED, ASSIGNED, IN_PROGRESS, PAUSED, REOPENED})


@dataclass(frozen=True)
class ClockCycle:
    """One cycle of one SLA clock: its due time and how it ended."""

    clock: str
    cycle: int
    started_at: datetime
    due_at: datetime
    outcome: str = "running"
    """running, met, cancelled."""
    on_time: bool | None = None
    missed_with_consent: bool = False
    breached_at: datetime | None = None
    """The due time that passed (the true breach instant), when a breach was recorded."""
    warned: bool = False
    concluded_at: datetime | None = None


@dataclass(frozen=True)
class Completion:
    """The n-th completion of the order (完成) and the first reopen after it, if any."""

    completed_at: datetime
    reopened_at: datetime | None = None


@dataclass(frozen=True)
class Rating:
    """A follow-up visit's satisfaction rating (回访), 1 to 5."""

    rated_at: datetime
    rating: int


@dataclass(frozen=True)
class OrderFacts:
    """Everything the KPIs know about one work order."""

    order_id: str
    tenant: str
    project: str
    kind: str
    category: str
    urgency: str
    building: str | None
    channel: str
    owner: str
    reported_at: datetime
    """When the request came in: the report's `received_at` when staff entered it later (a
    call taken at 08:55 and typed in at 09:05), else the report's own time. The SLA clocks
    run from the same instant, so a KPI's durations and periods agree with the promises."""
    version: int
    status: str = OrderStatus.REPORTED
    technician: str | None = None
    team: str | None = None
    """The team of the latest assignment's assignee (absent in events before teams existed)."""
    first_arrived_at: datetime | None = None
    first_feedback_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    complaint_valid: bool | None = None
    postponements: int = 0
    reassignments: int = 0
    missed_appointments: int = 0
    completions: tuple[Completion, ...] = ()
    ratings: tuple[Rating, ...] = ()
    clocks: tuple[ClockCycle, ...] = ()
    updated_at: datetime | None = None
    number: str | None = None
    """The number people read (SG-20261201-0042); None for orders reported before numbers."""

    @property
    def first_completed_at(self) -> datetime | None:
        """When the work was first done."""
        return self.completions[0].completed_at if self.completions else None

    @property
    def reopens(self) -> int:
        """How many completions were reopened."""
        return sum(1 for c in self.completions if c.reopened_at is not None)

    @property
    def is_open(self) -> bool:
        """Whether the order still waits for work (backlog)."""
        return self.status in OrderStatus.OPEN

    def clock(self, name: ClockName | str) -> ClockCycle | None:
        """The first cycle of a clock (dispatch numbers cycles from 1), if it ever started.

        Later cycles follow a reopen (resolution) or a progress report (progress).
        """
        cycles = [c for c in self.clocks if c.clock == name]
        return min(cycles, key=lambda c: c.cycle) if cycles else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able form for storage."""
        return {
            **{k: _out(v) for k, v in self.__dict__.items() if k not in _NESTED},
            "completions": [{k: _out(v) for k, v in c.__dict__.items()} for c in self.completions],
            "ratings": [{k: _out(v) for k, v in r.__dict__.items()} for r in self.ratings],
            "clocks": [{k: _out(v) for k, v in c.__dict__.items()} for c in self.clocks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderFacts:
        """The inverse of `to_json`."""
        plain = {k: _in(k, v) for k, v in data.items() if k not in _NESTED}
        return cls(
            **plain,
            completions=tuple(
                Completion(**{k: _in(k, v) for k, v in c.items()}) for c in data["completions"]
            ),
            ratings=tuple(Rating(**{k: _in(k, v) for k, v in r.items()}) for r in data["ratings"]),
            clocks=tuple(
                ClockCycle(**{k: _in(k, v) for k, v in c.items()}) for c in data["clocks"]
            ),
        )


_NESTED = frozenset({"completions", "ratings", "clocks"})


def _out(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _in(key: str, value: Any) -> Any:
    if isinstance(value, str) and (key.endswith("_at")):
        return datetime.fromisoformat(value)
    return value


@dataclass(frozen=True)
class EventFact:
    """The parts of an event envelope the fold reads (decoupled from the wire model)."""

    type_name: str
    order_id: str
    tenant: str
    project: str
    sequence: int
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)


def start(event: EventFact) -> OrderFacts:
    """The facts of a work order from its `workorder.reported` event."""
    data = event.data
    return OrderFacts(
        order_id=event.order_id,
        tenant=event.tenant,
        project=event.project,
        kind=data["kind"],
        category=data["category"],
        urgency=data["urgency"],
        building=(data.get("location") or {}).get("building"),
        channel=data["channel"],
        owner=data["owner"],
        reported_at=_in("received_at", data.get("received_at")) or event.time,
        version=event.sequence,
        updated_at=event.time,
        number=data.get("number"),
    )


_Record = TypeVar("_Record")


def _evolve(record: _Record, **changes: Any) -> _Record:
    """A copy of a frozen dataclass of this module with `changes` applied.

    `dataclasses.replace` introspects every field and calls `__init__` again, which made
    it most of the fold's time (two calls an event on a 25-field record). These classes
    have no `__post_init__` and no `init=False` fields, so copying the instance's
    attributes builds exactly what `replace` would.
    """
    unknown = changes.keys() - record.__dict__.keys()
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {sorted(unknown)}")
    evolved = object.__new__(type(record))
    evolved.__dict__.update(record.__dict__)
    evolved.__dict__.update(changes)
    return evolved


def apply(facts: OrderFacts | None, event: EventFact) -> OrderFacts | None:
    """The facts after `event`; None while the order has not been reported.

    Events of types reporting does not measure only advance the version.
    """
    if event.type_name == "workorder.reported":
        return start(event)
    if facts is None:
        return None
    step = _STEPS.get(event.type_name)
    changed = step(facts, event) if step is not None else facts
    return _evolve(changed, version=event.sequence, updated_at=event.time)


def _set_status(status: str) -> Any:
    def step(facts: OrderFacts, _: EventFact) -> OrderFacts:
        return _evolve(facts, status=status)

    return step


def _assigned(facts: OrderFacts, event: EventFact) -> OrderFacts:
    status = OrderStatus.ASSIGNED if facts.status == OrderStatus.REPORTED else facts.status
    return _evolve(
        facts, technician=event.data["assignee"], team=event.data.get("team"), status=status
    )


def _reassigned(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(
        facts,
        technician=event.data["to_assignee"],
        team=event.data.get("team"),
        reassignments=facts.reassignments + 1,
    )


def _arrived(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(
        facts,
        first_arrived_at=facts.first_arrived_at or event.time,
        technician=facts.technician or event.data.get("technician"),
    )


def _completed(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(
        facts,
        status=OrderStatus.COMPLETED,
        completions=(*facts.completions, Completion(completed_at=event.time)),
    )


def _reopened(facts: OrderFacts, event: EventFact) -> OrderFacts:
    completions = facts.completions
    if completions and completions[-1].reopened_at is None:
        completions = (*completions[:-1], _evolve(completions[-1], reopened_at=event.time))
    return _evolve(facts, status=OrderStatus.REOPENED, completions=completions)


def _feedback(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(facts, first_feedback_at=facts.first_feedback_at or event.time)


def _follow_up(facts: OrderFacts, event: EventFact) -> OrderFacts:
    rating = Rating(rated_at=event.time, rating=int(event.data["rating"]))
    return _evolve(facts, ratings=(*facts.ratings, rating))


def _closed(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(facts, status=OrderStatus.CLOSED, closed_at=event.time)


def _cancelled(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(facts, status=OrderStatus.CANCELLED, cancelled_at=event.time)


def _validity(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(facts, complaint_valid=bool(event.data["valid"]))


def _postponed(facts: OrderFacts, _: EventFact) -> OrderFacts:
    return _evolve(facts, postponements=facts.postponements + 1)


def _missed(facts: OrderFacts, _: EventFact) -> OrderFacts:
    return _evolve(facts, missed_appointments=facts.missed_appointments + 1)


def _urgency(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _evolve(facts, urgency=event.data["to_urgency"])


def _with_clock(facts: OrderFacts, event: EventFact, **changes: Any) -> OrderFacts:
    name, cycle = event.data["clock"], int(event.data["cycle"])
    clocks = list(facts.clocks)
    for i, c in enumerate(clocks):
        if c.clock == name and c.cycle == cycle:
            clocks[i] = _evolve(c, **changes)
            return _evolve(facts, clocks=tuple(clocks))
    # A clock event for a cycle never started (an event-driven escalation) changes nothing.
    return facts


def _clock_started(facts: OrderFacts, event: EventFact) -> OrderFacts:
    cycle = ClockCycle(
        clock=event.data["clock"],
        cycle=int(event.data["cycle"]),
        started_at=event.time,
        due_at=datetime.fromisoformat(event.data["due_at"]),
    )
    others = tuple(c for c in facts.clocks if (c.clock, c.cycle) != (cycle.clock, cycle.cycle))
    return _evolve(facts, clocks=(*others, cycle))


def _clock_due(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _with_clock(facts, event, due_at=datetime.fromisoformat(event.data["due_at"]))


def _clock_warned(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _with_clock(facts, event, warned=True)


def _clock_breached(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _with_clock(facts, event, breached_at=datetime.fromisoformat(event.data["due_at"]))


def _clock_met(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _with_clock(
        facts,
        event,
        outcome="met",
        on_time=bool(event.data["on_time"]),
        missed_with_consent=bool(event.data["missed_with_consent"]),
        concluded_at=event.time,
    )


def _clock_cancelled(facts: OrderFacts, event: EventFact) -> OrderFacts:
    return _with_clock(facts, event, outcome="cancelled", concluded_at=event.time)


_STEPS = {
    "workorder.assigned": _assigned,
    "workorder.reassigned": _reassigned,
    "workorder.arrived": _arrived,
    "workorder.work_started": _set_status(OrderStatus.IN_PROGRESS),
    "workorder.paused": _set_status(OrderStatus.PAUSED),
    "workorder.resumed": _set_status(OrderStatus.IN_PROGRESS),
    "workorder.completed": _completed,
    "workorder.reopened": _reopened,
    "workorder.feedback_given": _feedback,
    "workorder.follow_up_recorded": _follow_up,
    "workorder.closed": _closed,
    "workorder.cancelled": _cancelled,
    "workorder.complaint_validity_marked": _validity,
    "workorder.postponed": _postponed,
    "workorder.appointment_missed": _missed,
    "workorder.urgency_changed": _urgency,
    "workorder.sla_clock_started": _clock_started,
    "workorder.sla_clock_paused": _clock_due,
    "workorder.sla_clock_resumed": _clock_due,
    "workorder.sla_clock_recalculated": _clock_due,
    "workorder.sla_warning_raised": _clock_warned,
    "workorder.sla_clock_breached": _clock_breached,
    "workorder.sla_clock_met": _clock_met,
    "workorder.sla_clock_cancelled": _clock_cancelled,
}


@dataclass(frozen=True)
class ProjectFacts:
    """What reporting needs of a project: its households and time zone (项目)."""

    tenant: str
    project: str
    name: str
    time_zone: str
    households: int
    version: int


def project_facts(event: EventFact) -> ProjectFacts:
    """A project's facts from a `project.registered` or `project.updated` event."""
    details = event.data["details"]
    return ProjectFacts(
        tenant=event.tenant,
        project=event.project,
        name=details["name"],
        time_zone=details.get("time_zone", "Asia/Shanghai"),
        households=int(details["households"]),
        version=event.sequence,
    )
