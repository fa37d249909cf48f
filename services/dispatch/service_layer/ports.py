"""What the handlers need from the outside world, as protocols and plain data.

The write side is one narrow port: `EventStore.append` of an `AppendBatch` (a stream's
events at an expected version, their metadata, the caller's idempotency record), with
the inline views and preconditions of the write as typed `inline` values beside it.
`SqlEventStore` and `MemoryEventStore` implement it and pass the same contract suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar
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
class StreamTimers:
    """The stream's pending SLA and offer timers after the append (an inline view): they
    replace the ones it had, so an append with no events may still carry them (a timer
    found stale)."""

    rows: tuple[TimerRow, ...]


@dataclass(frozen=True, slots=True)
class LoadGuard:
    """An acceptance's load limit, checked in the append's own transaction (a precondition).

    The append is refused (`Conflict` with code `over_load_limit`, decided by
    `domain.assignment.load_limit_refusal`) when `assignee` already has `limit` or more
    open work orders other than this stream's, counting what appends committed before it
    (in its group too). The store serializes guarded appends of one person, across
    processes, so two acceptances cannot both pass on the same count.
    """

    assignee: str
    limit: int


@dataclass(frozen=True, slots=True)
class ResidentEntry:
    """A new work order's row in the residents' blind index (an inline view).

    Written with the report, because only the report command holds the phone in clear:
    the stored event carries its mask and a token."""

    subject: str
    """The reporter's pseudonymous reference (`rsd_...`), their key ring subject."""
    phone_index: str | None
    """The blind index of their phone (`domain.residents.phone_index`); None: no number."""


Inline = WorkOrderView | ProjectView | StreamTimers | LoadGuard | Numbering | ResidentEntry
"""What an append carries beside its events, for the store to apply in the same transaction:
the views kept inline (listing row, project registry row, timer table, residents' index)
and the preconditions and stamps of the write (the load limit, a new order's number).
Each kind has its registered part in every implementation of `EventStore`."""

InlineT = TypeVar(
    "InlineT", WorkOrderView, ProjectView, StreamTimers, LoadGuard, Numbering, ResidentEntry
)


@dataclass(frozen=True, slots=True)
class AppendBatch:
    """Events for one stream at the version they were decided on, with their metadata,
    written atomically with the caller's idempotency record and the `inline` values.

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
    """The idempotency store's part of the same atomic write (`IdempotencyStore`)."""
    inline: tuple[Inline, ...] = ()
    """At most one value of each kind."""

    def __post_init__(self) -> None:
        kinds = [type(value) for value in self.inline]
        if len(set(kinds)) != len(kinds):
            names = ", ".join(sorted(kind.__name__ for kind in kinds))
            raise ValueError(f"an append carries one inline value of each kind, not {names}")

    def inline_of(self, kind: type[InlineT]) -> InlineT | None:
        """The batch's inline value of `kind`, if it carries one."""
        return next((value for value in self.inline if isinstance(value, kind)), None)

    def with_number(self, number: str) -> AppendBatch:
        """The batch with its work order's number in every place the number is kept:
        the report event, the listing row and the answer (first and replayed) alike;
        its `Numbering` is done."""
        events = tuple(
            replace(e, data={**e.data, "number": number}) if e.type_name == REPORTED else e
            for e in self.events
        )
        inline = tuple(
            replace(v, number=number, summary={**v.summary, "number": number})
            if isinstance(v, WorkOrderView)
            else v
            for v in self.inline
            if not isinstance(v, Numbering)
        )
        record = self.idempotency
        if record is not None:
            record = replace(record, response={**record.response, "number": number})
        return replace(self, events=events, inline=inline, idempotency=record)

    def given_number(self) -> str | None:
        """The number `with_number` gave the batch's new work order, if it gave one."""
        return next((e.data.get("number") for e in self.events if e.type_name == REPORTED), None)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: the recorded events, or the earlier result of the same command."""

    events: tuple[RecordedEvent, ...]
    version: int
    duplicate_of: IdempotencyRecord | None = None
    number: str | None = None
    """The number the store gave the new work order (its `Numbering`)."""


class IdempotencyStore(Protocol):
    """The first results of the commands sent with an `Idempotency-Key`, each the caller's own.

    A record is written only as part of an append (`AppendBatch.idempotency`), so the key
    and the command's events are kept or lost together."""

    async def idempotent_result(
        self, tenant: str, subject: str, key: str
    ) -> IdempotencyRecord | None:
        """The stored first result of the caller's command key, if any."""
        ...


class EventStore(IdempotencyStore, Protocol):
    """The system of record: streams of immutable events with optimistic concurrency.

    It answers for the idempotency records too: they are written by its appends."""

    async def load(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of a stream in version order, upcast to the current schemas."""
        ...

    async def append(self, batch: AppendBatch) -> AppendResult:
        """Append atomically with the batch's idempotency record and inline values.

        A caller's key already stored answers with its first result (`duplicate_of`) and
        writes nothing; a stale `expected_version` raises `ConcurrencyConflict`; a
        precondition refused (`LoadGuard`) raises its `Conflict` and writes nothing."""
        ...
