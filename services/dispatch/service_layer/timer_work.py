"""What every timer firing does first: load the stream fresh, and retry after a lost race."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.domain.workorder import WorkOrderState, fold
from services.dispatch.service_layer.ports import EventStore
from shared.errors import ConcurrencyConflict
from shared.events.base import EventData
from shared.events.catalogue import parse


@dataclass(frozen=True, slots=True)
class FreshStream:
    """A work order's stream as loaded by a timer: events parsed, folded, and its tenancy."""

    tenant: str
    project: str
    history: list[tuple[EventData, datetime]]
    state: WorkOrderState
    version: int


async def load_fresh(store: EventStore, work_order_id: str) -> FreshStream | None:
    """The work order folded from the store now, or None if it does not exist."""
    recorded = await store.load(work_order_id)
    if not recorded:
        return None
    history = [(parse(e.type_name, e.data), e.occurred_at) for e in recorded]
    state = fold(history)
    assert state is not None
    return FreshStream(recorded[0].tenant, recorded[0].project, history, state, len(recorded))


async def retry_conflicts(work: Callable[[], Awaitable[int]], attempts: int) -> int:
    """Run `work` again after a `ConcurrencyConflict`, at most `attempts` times in all.

    Timer work is idempotent: decided again on the newer stream, a timer another process
    already handled raises nothing.
    """
    for attempt in range(attempts):
        try:
            return await work()
        except ConcurrencyConflict:
            if attempt == attempts - 1:
                raise
    return 0
