"""A timer store in memory: the `TimerStore` contract without a database.

For service-layer tests that are not about storage (the scheduler's loop, the handlers):
they run in milliseconds. It keeps the timers of one process only, so it is never what a
service runs on. Each method completes without yielding to the event loop, so two
claimers in one loop take different timers, as `SKIP LOCKED` makes them on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.dispatch.service_layer.ports import TimerRow
from services.dispatch.service_layer.timer_store import PendingTimers
from services.dispatch.service_layer.timers import Timer, timer_from_row


@dataclass(slots=True)
class _Waiting:
    work_order_id: str
    row: TimerRow
    claimed_until: datetime | None = None


class InMemoryTimerStore:
    """`TimerStore` in a dict: work order → its timers by key."""

    def __init__(self) -> None:
        self._orders: dict[str, dict[str, _Waiting]] = {}

    def _waiting(self) -> list[_Waiting]:
        return [timer for timers in self._orders.values() for timer in timers.values()]

    async def next_fire_time(self) -> datetime | None:
        """The first unclaimed timer's `fires_at` or the first claim's end, if sooner."""
        candidates = [
            timer.row.fires_at if timer.claimed_until is None else timer.claimed_until
            for timer in self._waiting()
        ]
        return min(candidates, default=None)

    async def claim_due(
        self, now: datetime, limit: int, claim_for: timedelta
    ) -> dict[str, list[Timer]]:
        """Claim the earliest due, unclaimed timers until `now + claim_for`, per work order."""
        due = sorted(
            (
                timer
                for timer in self._waiting()
                if timer.row.fires_at <= now
                and (timer.claimed_until is None or timer.claimed_until < now)
            ),
            key=lambda timer: (timer.row.fires_at, timer.work_order_id, timer.row.key),
        )[:limit]
        claimed: dict[str, list[Timer]] = {}
        for timer in due:
            timer.claimed_until = now + claim_for
            typed = timer_from_row(timer.work_order_id, timer.row.timer, timer.row.due_at)
            claimed.setdefault(timer.work_order_id, []).append(typed)
        return claimed

    async def replace(
        self, work_order_id: str, tenant: str, project: str, timers: Sequence[TimerRow]
    ) -> None:
        """Make `timers` (unclaimed) the work order's only ones."""
        if timers:
            self._orders[work_order_id] = {row.key: _Waiting(work_order_id, row) for row in timers}
        else:
            self._orders.pop(work_order_id, None)

    async def replace_all(self, pending: Sequence[PendingTimers]) -> int:
        """Drop every timer and keep `pending`; how many timers that is."""
        self._orders = {}
        for order in pending:
            await self.replace(order.work_order_id, order.tenant, order.project, order.timers)
        return sum(len(timers) for timers in self._orders.values())
