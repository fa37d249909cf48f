"""The stored first results of keyed commands, deleted once past the key's retention.

A key answers its command's first result for `IDEMPOTENCY_KEY_DAYS` (30 by default):
long past any client's retries, and a week of a large group's keyed reports is a few
gigabytes where kept for ever it would be hundreds (docs/scaling.md). After that the
same key is a new command.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from shared.sqltypes import UTCDateTime


class SqlIdempotencyKeys:
    """`idempotency_keys` as a retention loop prunes it (`shared.retention.Prunable`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def prune(self, older_than: datetime, limit: int) -> int:
        """Delete about `limit` of the oldest records stored before `older_than` (more
        when several share the last one's instant); how many."""
        c = t.idempotency_keys.c
        # The bound of the batch is the `limit`-th oldest instant, read from the index on
        # `created_at`; both databases delete by that index, not by a scan of the keys.
        nth_oldest = (
            select(c.created_at)
            .where(c.created_at < older_than)
            .order_by(c.created_at)
            .offset(limit - 1)
            .limit(1)
            .scalar_subquery()
        )
        upto = func.coalesce(nth_oldest, literal(older_than, UTCDateTime))
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(t.idempotency_keys).where(c.created_at < older_than, c.created_at <= upto)
            )
        return int(result.rowcount)
