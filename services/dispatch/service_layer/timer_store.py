"""The timer store: where a work order's durable timers wait until a scheduler claims them.

The SQL table (`adapters.sql_timer_store`) and an in-memory store
(`adapters.memory_timer_store`) implement `TimerStore` and pass one contract suite.

The claim protocol has no release and no completion: a claim simply lapses after its
window (a crashed scheduler's timers are claimed again), and the handler that fires a
timer ends it by replacing its work order's timers with those pending afterwards (in
production the event store's append does that, in the append's own transaction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.dispatch.service_layer.ports import TimerRow
from services.dispatch.service_layer.timers import Timer


@dataclass(frozen=True, slots=True)
class PendingTimers:
    """The pending timers of one work order, with the tenancy the store keeps beside them."""

    work_order_id: str
    tenant: str
    project: str
    timers: tuple[TimerRow, ...]


class TimerStore(Protocol):
    """Durable timers of every work order, claimed by schedulers as they fall due."""

    async def next_fire_time(self) -> datetime | None:
        """When the earliest pending timer may fire: the first unclaimed one's `fires_at`,
        or the end of a claim if that comes sooner (its timer may then be claimed again);
        None when no timer waits."""
        ...

    async def claim_due(
        self, now: datetime, limit: int, claim_for: timedelta
    ) -> Mapping[str, Sequence[Timer]]:
        """Claim up to `limit` timers due by `now` and not claimed by anyone (or whose claim
        has lapsed), earliest first, until `now + claim_for`; the claimed timers per work order.

        Two schedulers claiming at once take different timers; the claim is durable
        before this returns, so the work that follows is done once in the window.
        """
        ...

    async def replace(
        self, work_order_id: str, tenant: str, project: str, timers: Sequence[TimerRow]
    ) -> None:
        """Make `timers` (unclaimed) the work order's only ones; none clears them."""
        ...

    async def replace_all(self, pending: Sequence[PendingTimers]) -> int:
        """Make `pending` every timer the store holds, dropping all others at once (the
        rebuild from the events); return how many timers it holds."""
        ...
