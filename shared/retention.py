"""Retention loops: rows older than their period are deleted, a bounded batch at a time.

A pass deletes in batches (each its own short transaction, so it never holds a long one
or a lock a writer is waiting on) until a batch comes back short, then the loop sleeps.
The runner supervises the loop; several processes may run it on one database (a row
deleted twice is deleted once).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)


class Prunable(Protocol):
    """Rows that may go once they are older than a retention period."""

    async def prune(self, older_than: datetime, limit: int) -> int:
        """Delete up to `limit` rows from before `older_than`, oldest first; how many."""
        ...


@dataclass(frozen=True, slots=True)
class Retention:
    """How long rows are kept and how the pruning loop goes about deleting the rest."""

    days: int
    batch: int = 1000
    every_seconds: float = 3600.0


async def prune_expired(rows: Prunable, clock: Clock, retention: Retention, name: str) -> int:
    """Delete every row older than the retention period, a batch at a time; how many.
    `name` says what was pruned in the log (`<name>_pruned`)."""
    older_than = clock.now() - timedelta(days=retention.days)
    pruned = 0
    while True:
        deleted = await rows.prune(older_than, retention.batch)
        pruned += deleted
        if deleted < retention.batch:
            break
    if pruned:
        log.info(f"{name}_pruned", rows=pruned, older_than=older_than.isoformat())
    return pruned


async def run_retention(rows: Prunable, clock: Clock, retention: Retention, name: str) -> None:
    """Prune every `every_seconds`, until cancelled (the runner supervises it).

    The first pass comes a random part of the period after the start: not within the
    start's own work, nor in every process of a rolling restart at once, and not in a
    query still running when a short-lived process stops."""
    await clock.sleep(random.uniform(0, retention.every_seconds))
    while True:
        await prune_expired(rows, clock, retention, name)
        await clock.sleep(retention.every_seconds)
