"""Folding a batch of delivered events into the read model, in each stream's order.

Delivery is at least once and, per work order, not necessarily in order (redeliveries,
retries one at a time, a second process). This step makes the outcome independent of
that: an event at or below its stream's position (or already waiting) is a duplicate and
is skipped; the next one applies and releases any that waited behind it; one further
ahead waits in the *pending* buffer, committed with the batch, until the gap fills.
Waiting in a buffer instead of refusing the message keeps the consumer moving and spends
no redeliveries on a gap. A poison event (its data fails validation) is recorded as a
dead letter and its place in the stream is marked *skipped*, so the events after it still
apply.

`project` is pure; `fold_batch` runs it on the rows a `ReadModelBatch` loads and hands the
result back to be stored, inside the transaction a `ReadModelRecorder` holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.reporting.domain.facts import (
    EventFact,
    OrderFacts,
    ProjectFacts,
    apply,
    project_facts,
)
from services.reporting.domain.notifications import NotificationOutcome, outcome_of
from shared.envelope import Envelope

if TYPE_CHECKING:
    from services.reporting.service_layer.ports import ReadModelBatch

PROJECT_EVENTS = frozenset({"project.registered", "project.updated"})


@dataclass(frozen=True)
class Waiting:
    """An event held until its stream reaches it; `event` None marks a skipped (poison) place."""

    stream_id: str
    sequence: int
    event: EventFact | None


@dataclass
class WorkingSet:
    """The rows of the streams in one batch, as loaded and then as changed."""

    positions: dict[str, int] = field(default_factory=dict)
    orders: dict[str, OrderFacts] = field(default_factory=dict)
    projects: dict[tuple[str, str], ProjectFacts] = field(default_factory=dict)
    pending: dict[tuple[str, int], Waiting] = field(default_factory=dict)
    changed_orders: set[str] = field(default_factory=set)
    changed_projects: set[tuple[str, str]] = field(default_factory=set)
    added_pending: set[tuple[str, int]] = field(default_factory=set)
    released_pending: set[tuple[str, int]] = field(default_factory=set)
    notifications: list[NotificationOutcome] = field(default_factory=list)
    """Notification outcomes applied in this batch (each event once: its stream moved)."""
    applied: int = 0
    duplicates: int = 0

    def touched(self) -> set[tuple[str, str]]:
        """The (tenant, project) pairs whose figures may have changed."""
        touched = {
            (o.tenant, o.project) for k, o in self.orders.items() if k in self.changed_orders
        }
        return touched | self.changed_projects


def stream_id(event: EventFact) -> str:
    """The stream an event belongs to: the work-order id, or `project:<tenant>:<project>`."""
    return event.order_id


def fold_batch(batch: ReadModelBatch, items: Sequence[EventFact | Waiting]) -> WorkingSet:
    """Load the rows of the streams `items` touch, fold `items` into them, store the result."""
    working = batch.load({i.stream_id if isinstance(i, Waiting) else stream_id(i) for i in items})
    # The facts as committed, before the batch: their samples leave the roll-up.
    before = dict(working.orders)
    project(working, items)
    batch.save(working, before)
    return working


def project(working: WorkingSet, events: Iterable[EventFact | Waiting]) -> WorkingSet:
    """Apply `events` (and skip markers of poison events) to `working`, in stream order."""
    for item in events:
        if isinstance(item, Waiting):
            _offer(working, item.stream_id, item.sequence, item)
        else:
            _offer(working, stream_id(item), item.sequence, item)
    return working


def _offer(working: WorkingSet, stream: str, sequence: int, item: EventFact | Waiting) -> None:
    position = working.positions.get(stream, 0)
    if sequence <= position or (stream, sequence) in working.pending:
        working.duplicates += 1
        return
    if sequence > position + 1:
        event = item.event if isinstance(item, Waiting) else item
        working.pending[(stream, sequence)] = Waiting(stream, sequence, event)
        working.added_pending.add((stream, sequence))
        return
    _apply_one(working, stream, item)
    # Release what waited behind this event.
    while (stream, working.positions[stream] + 1) in working.pending:
        key = (stream, working.positions[stream] + 1)
        waiting = working.pending.pop(key)
        if key in working.added_pending:
            working.added_pending.discard(key)
        else:
            working.released_pending.add(key)
        _apply_one(working, stream, waiting)


def _apply_one(working: WorkingSet, stream: str, item: EventFact | Waiting) -> None:
    event = item.event if isinstance(item, Waiting) else item
    working.positions[stream] = working.positions.get(stream, 0) + 1
    if event is None:
        return
    working.applied += 1
    if event.type_name in PROJECT_EVENTS:
        key = (event.tenant, event.project)
        working.projects[key] = project_facts(event)
        working.changed_projects.add(key)
        return
    outcome = outcome_of(event)
    if outcome is not None:
        working.notifications.append(outcome)
        return
    facts = apply(working.orders.get(stream), event)
    if facts is not None:
        working.orders[stream] = facts
        working.changed_orders.add(stream)


def event_fact(
    envelope: Envelope, type_name: str | None = None, data: dict[str, Any] | None = None
) -> EventFact:
    """The fold's view of a `shared.envelope.Envelope`; `type_name` and `data` when the
    caller already has them (the projector, with the data upcast)."""
    return EventFact(
        type_name=type_name if type_name is not None else envelope.type_name,
        order_id=envelope.subject,
        tenant=envelope.tenant,
        project=envelope.project,
        sequence=envelope.sequence,
        time=envelope.time,
        data=data if data is not None else envelope.data,
    )


def event_fact_json(fact: EventFact) -> dict[str, Any]:
    """A waiting event as JSON, for the pending table."""
    return {
        "type_name": fact.type_name,
        "order_id": fact.order_id,
        "tenant": fact.tenant,
        "project": fact.project,
        "sequence": fact.sequence,
        "time": fact.time.isoformat(),
        "data": fact.data,
    }


def event_fact_from_json(data: Mapping[str, Any]) -> EventFact:
    """The inverse of `event_fact_json`."""
    return EventFact(
        type_name=data["type_name"],
        order_id=data["order_id"],
        tenant=data["tenant"],
        project=data["project"],
        sequence=int(data["sequence"]),
        time=datetime.fromisoformat(data["time"]),
        data=dict(data["data"]),
    )
