"""Before publishing: how a draft SLA policy would move the running clocks (预览).

The preview runs the same recalculation `recalculate-sla` runs, with the draft as the
current policy, and appends nothing: what a person reads here is what the recalculation
of each order would record once the draft is published.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.dispatch.domain.sla import (
    POLICY_CHANGED,
    PolicyBook,
    SlaPolicy,
    SlaState,
    fold_sla,
    recalculate,
)
from services.dispatch.service_layer.ports import EventStore
from services.dispatch.service_layer.sla_views import clock_status
from services.dispatch.service_layer.work_orders import load_work_order
from shared.auth import Principal
from shared.events.base import EventData
from shared.events.sla import ClockName, SlaClockCancelled, SlaClockRecalculated

MOVED = "moved"
UNCHANGED = "unchanged"
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ClockedOrder:
    """A work order whose clocks a preview measures: its id, project and number."""

    id: str
    project: str
    number: str | None


class DraftBooks(Protocol):
    """The policies a project's clocks would run under were a draft published."""

    async def book_with_draft(
        self, tenant: str, project: str, versions: Iterable[int], draft: SlaPolicy
    ) -> PolicyBook:
        """`draft` current, the stored versions the clocks name earlier."""
        ...


def clock_moves(sla: SlaState, recalculated: Sequence[EventData]) -> list[dict[str, Any]]:
    """Each running or paused clock of `sla`: its due time now and under the draft.

    `recalculated` are the events the recalculation on the draft decided; a clock none
    of them names keeps its due time.
    """
    last: dict[ClockName, EventData] = {}
    for event in recalculated:
        if isinstance(event, SlaClockRecalculated | SlaClockCancelled):
            last[event.clock] = event
    moves = []
    for name in ClockName:
        clock = sla.clocks.get(name)
        if clock is None or not clock.active:
            continue
        decided = last.get(name)
        draft_due: datetime | None = clock.due_at
        change = UNCHANGED
        if isinstance(decided, SlaClockCancelled):
            draft_due, change = None, CANCELLED
        elif isinstance(decided, SlaClockRecalculated) and decided.due_at != clock.due_at:
            draft_due, change = decided.due_at, MOVED
        moves.append(
            {
                "clock": name.value,
                "cycle": clock.cycle,
                "status": clock_status(clock).value,
                "due_at": clock.due_at,
                "draft_due_at": draft_due,
                "change": change,
            }
        )
    return moves


async def preview_policy(
    store: EventStore,
    books: DraftBooks,
    principal: Principal,
    orders: Iterable[ClockedOrder],
    draft: SlaPolicy,
    now: datetime,
) -> list[dict[str, Any]]:
    """For each of `orders`, each running clock's due time now and under `draft`."""
    items: list[dict[str, Any]] = []
    for order in orders:
        loaded = await load_work_order(store, order.id, principal)
        sla = fold_sla(loaded.history)
        book = await books.book_with_draft(
            loaded.tenant, loaded.project, sla.policy_versions(), draft
        )
        events = recalculate(
            sla, book, loaded.state, now, project=loaded.project, reason=POLICY_CHANGED
        )
        for move in clock_moves(sla, events):
            items.append(
                {
                    "work_order_id": order.id,
                    "number": order.number,
                    "project": order.project,
                    **move,
                }
            )
    return items
