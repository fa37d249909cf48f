"""The event store in memory: the same ports as the SQL store, for handlers tested in
milliseconds.

`MemoryEventStore` implements `EventStore` (with its `IdempotencyStore`) and keeps the
inline views in dicts: the work-order listing, the project registry, the timer table,
the number counters. It plans each append with the same parts as the SQL store
(`append_plan`, `load_plan`, `number_plan`) and passes the same contract suite; what it
leaves out is only what a database adds (durability, other processes, upcasting of old
stored shapes: what it holds was written in the current ones). An append runs without
awaiting anything, so appends on one event loop are serialized as a database would
serialize them. Stored values go through JSON, as the database's columns do, so a
value a real store would not keep fails here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from services.dispatch.adapters.append_plan import CallerKey, caller_key, plan, written
from services.dispatch.adapters.inline import InlinePart, Projection, Written
from services.dispatch.adapters.load_plan import OPEN, LoadPlan, Loads, guarded_people
from services.dispatch.adapters.number_plan import Counters, NumberPlan, counter_keys
from services.dispatch.service_layer.ports import (
    AppendBatch,
    AppendResult,
    IdempotencyRecord,
    ProjectView,
    ResidentEntry,
    StreamTimers,
    TimerRow,
    WorkOrderView,
)
from shared.events.project import ProjectDetails
from shared.events.recorded import RecordedEvent


@dataclass(frozen=True, slots=True)
class Listed:
    """A work order's listing row: its view at a stream version."""

    view: WorkOrderView
    version: int


class MemoryEventStore:
    """`EventStore` in memory, its inline views readable as attributes."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._now = clock or (lambda: datetime.now(UTC))
        self.streams: dict[str, list[RecordedEvent]] = {}
        self.keys: dict[CallerKey, IdempotencyRecord] = {}
        self.work_orders: dict[str, Listed] = {}
        self.projects: dict[tuple[str, str], ProjectView] = {}
        self.timers: dict[str, tuple[TimerRow, ...]] = {}
        self.counters: Counters = {}
        self.residents: dict[str, ResidentEntry] = {}
        """The residents' blind index: each reported order's entry, by work order."""

    async def load(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of a stream in version order."""
        return list(self.streams.get(stream_id, ()))

    async def append(self, batch: AppendBatch) -> AppendResult:
        """Append atomically with the batch's record and inline values, or raise."""
        batch = _stored(batch)
        parts = self._parts(batch)
        key = caller_key(batch.idempotency) if batch.idempotency is not None else None
        earlier = {key: self.keys[key]} if key in self.keys else {}
        heads = {batch.stream_id: len(self.streams.get(batch.stream_id, ()))}
        now = self._now()
        planned = plan([batch], earlier, heads, parts, now)
        [(_, outcome)] = planned
        if isinstance(outcome, Exception):
            raise outcome
        wrote = written(planned)
        for admitted, result in wrote:
            self.streams.setdefault(admitted.stream_id, []).extend(result.events)
            if admitted.idempotency is not None:
                self.keys[caller_key(admitted.idempotency)] = admitted.idempotency
        for part in parts:
            part.write(wrote, now)
        return outcome

    async def idempotent_result(
        self, tenant: str, subject: str, key: str
    ) -> IdempotencyRecord | None:
        """The stored first result of the caller's command key, if any."""
        return self.keys.get((tenant, subject, key))

    def _parts(self, batch: AppendBatch) -> list[InlinePart]:
        # The SQL store's parts, in the same order (`event_store.INLINE_PARTS`).
        stored = {key: self.counters.get(key, 0) for key in counter_keys([batch])}
        return [
            LoadPlan(self._loads(batch)),
            NumberPlan(stored, self.counters.update),
            _Views(self),
        ]

    def _loads(self, batch: AppendBatch) -> Loads:
        loads: Loads = {person: set() for person in guarded_people([batch])}
        for work_order_id, listed in self.work_orders.items():
            view, person = listed.view, (listed.view.tenant, listed.view.assignee or "")
            if view.assignee is not None and view.status in OPEN and person in loads:
                loads[person].add(work_order_id)
        return loads


class _Views(Projection):
    """The listing, registry, timer table and residents' index of the memory store,
    written together."""

    def __init__(self, store: MemoryEventStore) -> None:
        self._store = store

    def write(self, written: Sequence[Written], now: datetime) -> None:
        for batch, result in written:
            if (view := batch.inline_of(WorkOrderView)) is not None:
                self._store.work_orders[batch.stream_id] = Listed(view, result.version)
            if (project := batch.inline_of(ProjectView)) is not None:
                self._store.projects[(project.tenant, project.project)] = project
            if (timers := batch.inline_of(StreamTimers)) is not None:
                self._store.timers[batch.stream_id] = timers.rows
            if (resident := batch.inline_of(ResidentEntry)) is not None:
                self._store.residents[batch.stream_id] = resident


class MemoryProjectDirectory:
    """`ProjectDirectory` on the memory store's project registry."""

    def __init__(self, store: MemoryEventStore) -> None:
        self._store = store

    async def exists(self, tenant: str, project: str) -> bool:
        """Whether `project` is registered for `tenant`."""
        return (tenant, project) in self._store.projects

    def remember(self, tenant: str, project: str, details: ProjectDetails) -> None:
        """Nothing to cache: the registry is read in memory each time."""

    async def details(self, tenant: str, project: str) -> ProjectDetails | None:
        """The project's registered facts as they are now; None if it is not registered."""
        view = self._store.projects.get((tenant, project))
        return None if view is None else ProjectDetails.model_validate(view.details)


def _stored(batch: AppendBatch) -> AppendBatch:
    """`batch` with its JSON values as a database column would give them back."""
    events = tuple(replace(e, data=_json(e.data)) for e in batch.events)
    record = batch.idempotency
    if record is not None:
        record = replace(record, response=_json(record.response))
    return replace(batch, events=events, idempotency=record)


def _json(value: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(value))
    return loaded
