"""What the handlers need from the outside world, as protocols and plain data.

The SQL event store implements `EventStore`; tests may use any other implementation
that passes the same contract suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.dispatch.domain.workorder import Numbering
from services.dispatch.service_layer.context import Effect
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.events.workorder import WorkOrderReported

REPORTED = WorkOrderReported.type_name


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event decided but not yet stored."""

    event_id: UUID
    type_name: str
    schema_version: int
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first result of a command sent with an `Idempotency-Key`.

    A key belongs to the caller who sent it (tenant and subject), as payment APIs scope
    theirs: the same key from someone else is another command, never their replay.
    """

    tenant: str
    subject: str
    key: str
    fingerprint: str
    stream_id: str
    effect: Effect
    """What the first command did; a replay answers as it did."""
    response: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WorkOrderView:
    """The listing row of one work order after the append (an inline view)."""

    tenant: str
    project: str
    kind: str
    category: str
    urgency: str
    status: str
    owner: str
    assignee: str | None
    reporter_resident_id: str | None
    building: str | None
    reported_at: datetime
    summary: dict[str, Any]
    assigned_at: datetime | None = None
    offered_to: str | None = None
    """The holders of open offers as `,a,b,` (`offered_to_column`); None: nobody."""
    number: str | None = None
    """The work-order number (`domain.workorder.numbering`); the store sets it on a new order."""


def offered_to_column(holders: Sequence[str]) -> str | None:
    """The listing's `offered_to` value: the ids between commas, so that one holder is
    found with `LIKE '%,<id>,%'`; None when nobody holds an offer."""
    return "," + ",".join(holders) + "," if holders else None


@dataclass(frozen=True, slots=True)
class ProjectView:
    """The registry row of one project after the append (an inline view)."""

    tenant: str
    project: str
    name: str
    time_zone: str
    households: int
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TimerRow:
    """One pending SLA timer of a work order, as the durable timer table keeps it.

    The table is derived from the events (rebuildable from them); `timer` holds the
    domain timer's fields so the scheduler can hand it back to the domain.
    """

    key: str
    clock: str
    fires_at: datetime
    due_at: datetime
    timer: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LoadGuard:
    """An acceptance's load limit, checked in the append's own transaction.

    The append is refused (`Conflict` with code `over_load_limit`) when `assignee` already has `limit` or
    more open work orders other than this stream's, counting what appends committed
    before it (in its group too). The store serializes guarded appends of one person,
    across processes, so two acceptances cannot both pass on the same count.
    """

    assignee: str
    limit: int


@dataclass(frozen=True, slots=True)
class AppendBatch:
    """Events for one stream, written atomically with their outbox rows and views.

    `expected_version` is the stream version the decision was made on (0 for a new
    stream); if another writer got there first the append fails with a conflict.
    """

    stream_id: str
    expected_version: int
    tenant: str
    project: str
    events: tuple[NewEvent, ...]
    metadata: EventMetadata
    idempotency: IdempotencyRecord | None = None
    work_order_view: WorkOrderView | None = None
    project_view: ProjectView | None = None
    timers: tuple[TimerRow, ...] | None = None
    """The stream's pending SLA timers after the append (replacing the old ones); None leaves them."""
    recorded_at: datetime | None = field(default=None)
    load_guard: LoadGuard | None = None
    numbering: Numbering | None = None
    """A new work order the store numbers in the append's transaction (`with_number`)."""

    def with_number(self, number: str) -> AppendBatch:
        """The batch with its work order's number in every place the number is kept:
        the report event, the listing row and the answer (first and replayed) alike."""
        events = tuple(
            replace(e, data={**e.data, "number": number}) if e.type_name == REPORTED else e
            for e in self.events
        )
        view = self.work_order_view
        if view is not None:
            view = replace(view, number=number, summary={**view.summary, "number": number})
        record = self.idempotency
        if record is not None:
            record = replace(record, response={**record.response, "number": number})
        return replace(
            self, events=events, work_order_view=view, idempotency=record, numbering=None
        )


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: the recorded events, or the earlier result of the same command."""

    events: tuple[RecordedEvent, ...]
    version: int
    duplicate_of: IdempotencyRecord | None = None
    number: str | None = None
    """The number the store gave the new work order (`AppendBatch.numbering`)."""


class EventStore(Protocol):
    """The system of record: streams of immutable events with optimistic concurrency."""

    async def load(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of a stream in version order, upcast to the current schemas."""
        ...

    async def append(self, batch: AppendBatch) -> AppendResult:
        """Append atomically; raise `ConcurrencyConflict` if `expected_version` is stale."""
        ...

    async def idempotent_result(
        self, tenant: str, subject: str, key: str
    ) -> IdempotencyRecord | None:
        """The stored first result of the caller's command key, if any."""
        ...
