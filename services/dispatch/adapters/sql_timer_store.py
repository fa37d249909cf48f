"""The timer store on dispatch's `sla_timers` table (SQLite and PostgreSQL).

Appends write the table inline (the event store's group commit replaces a work order's
rows in the append's transaction); this adapter is what schedulers and the rebuild use.
Due rows are claimed on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two schedulers take
different rows; on SQLite the claim's transaction begins IMMEDIATE, one claimer at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.rows import timer_rows
from services.dispatch.service_layer.ports import TimerRow
from services.dispatch.service_layer.timer_store import PendingTimers
from services.dispatch.service_layer.timers import Timer, timer_from_row
from shared.database import is_sqlite

_c = t.sla_timers.c
# Both served by the (claimed_until, fires_at) index without a sort, however many timers
# wait: the scheduler asks after every commit.
NEXT_UNCLAIMED = (
    select(_c.fires_at).where(_c.claimed_until.is_(None)).order_by(_c.fires_at).limit(1)
)
NEXT_CLAIM_END = (
    select(_c.claimed_until)
    .where(_c.claimed_until.is_not(None))
    .order_by(_c.claimed_until)
    .limit(1)
)
# One statement run per claimed row (primary-key look-ups): a row-value IN list is not
# served by the key index on SQLite and scans the table.
_CLAIM = (
    update(t.sla_timers)
    .where(_c.work_order_id == bindparam("w"), _c.key == bindparam("k"))
    .values(claimed_until=bindparam("until"))
)


class SqlTimerStore:
    """`TimerStore` over the `sla_timers` table of one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def next_fire_time(self) -> datetime | None:
        """When the earliest pending timer may fire, if any; a claimed one once its claim ends."""
        async with self._engine.connect() as conn:
            first: datetime | None = await conn.scalar(NEXT_UNCLAIMED)
            released: datetime | None = await conn.scalar(NEXT_CLAIM_END)
        candidates = [value for value in (first, released) if value is not None]
        return min(candidates) if candidates else None

    async def claim_due(
        self, now: datetime, limit: int, claim_for: timedelta
    ) -> dict[str, list[Timer]]:
        """Claim the earliest due, unclaimed timers until `now + claim_for`, per work order."""
        query = (
            select(_c.work_order_id, _c.key, _c.timer, _c.due_at)
            .where(_c.fires_at <= now, or_(_c.claimed_until.is_(None), _c.claimed_until < now))
            .order_by(_c.fires_at)
            .limit(limit)
        )
        if not is_sqlite(self._engine):
            query = query.with_for_update(skip_locked=True)
        until = now + claim_for
        async with self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if rows:
                await conn.execute(
                    _CLAIM, [{"w": row.work_order_id, "k": row.key, "until": until} for row in rows]
                )
        claimed: dict[str, list[Timer]] = defaultdict(list)
        for row in rows:
            claimed[row.work_order_id].append(
                timer_from_row(row.work_order_id, row.timer, row.due_at)
            )
        return dict(claimed)

    async def replace(
        self, work_order_id: str, tenant: str, project: str, timers: Sequence[TimerRow]
    ) -> None:
        """Make `timers` (unclaimed) the work order's only rows."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(t.sla_timers).where(_c.work_order_id == work_order_id))
            if timers:
                await conn.execute(
                    insert(t.sla_timers), timer_rows(work_order_id, tenant, project, timers)
                )

    async def replace_all(self, pending: Sequence[PendingTimers]) -> int:
        """Empty the table and write `pending`, in one transaction; how many rows it holds."""
        rows: list[dict[str, Any]] = []
        for order in pending:
            rows += timer_rows(order.work_order_id, order.tenant, order.project, order.timers)
        async with self._engine.begin() as conn:
            await conn.execute(delete(t.sla_timers))
            if rows:
                await conn.execute(insert(t.sla_timers), rows)
        return len(rows)
