"""Published outbox rows are deleted once they are older than the keep period.

Nothing reads a published row back: the stream holds the event, the service's own
tables its record (dispatch's event store), and the publisher's stream check reads the
per-day counts (`shared.published_counts`). So a published row is kept a while, for an
operator looking into a delivery, and then deleted.

A batch reads the head of the table (its oldest rows, by id, from the primary key) and
deletes the rows published before the period up to the first row published within it:
the rows behind that one are younger still. A row not yet published is skipped, never
deleted, whatever its age.
"""

from __future__ import annotations

from datetime import datetime
from itertools import takewhile

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.retention import Prunable, Retention, run_retention
from shared.runner import Runner
from shared.settings import ServiceSettings


def start_outbox_retention(
    runner: Runner, outbox: Prunable, clock: Clock, settings: ServiceSettings
) -> None:
    """Run the `outbox-retention` loop: published rows past `outbox_keep_days` go."""
    kept = Retention(days=settings.outbox_keep_days, every_seconds=settings.outbox_prune_seconds)
    runner.start("outbox-retention", lambda: run_retention(outbox, clock, kept, "outbox"))


async def prune_published(
    engine: AsyncEngine, outbox: Table, older_than: datetime, limit: int
) -> int:
    """Delete the rows among the oldest `limit` of `outbox` published before `older_than`
    (up to the first one published since); how many. The table has `id` and
    `published_at` (none while the row is pending)."""
    c = outbox.c
    async with engine.begin() as conn:
        head = (await conn.execute(select(c.id, c.published_at).order_by(c.id).limit(limit))).all()
        old = takewhile(lambda row: row.published_at is None or row.published_at < older_than, head)
        ids = [row.id for row in old if row.published_at is not None]
        if ids:
            await conn.execute(delete(outbox).where(c.id.in_(ids)))
    return len(ids)
