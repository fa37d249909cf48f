"""Retention of the access log: entries older than the set period are deleted.

The log is itself personal data (who looked at which resident, when), so it is kept no
longer than an audit needs: `PERSONAL_DATA_ACCESS_LOG_RETENTION_DAYS`, three years by
default. A background loop prunes it in bounded batches, so one pass never holds a long
transaction or a lock on the table a read is waiting to write to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.dispatch.service_layer.access_log import AccessLog
from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long entries are kept and how the pruning loop goes about deleting the rest."""

    days: int
    batch: int = 1000
    every_seconds: float = 3600.0


async def prune_expired(access_log: AccessLog, clock: Clock, retention: Retention) -> int:
    """Delete every entry older than the retention period, a batch at a time; how many."""
    older_than = clock.now() - timedelta(days=retention.days)
    pruned = 0
    while True:
        deleted = await access_log.prune(older_than, retention.batch)
        pruned += deleted
        if deleted < retention.batch:
            break
    if pruned:
        log.info("access_log_pruned", entries=pruned, older_than=older_than.isoformat())
    return pruned


async def run_retention(access_log: AccessLog, clock: Clock, retention: Retention) -> None:
    """Prune now and then every `every_seconds`, until cancelled (the runner supervises it)."""
    while True:
        await prune_expired(access_log, clock, retention)
        await clock.sleep(retention.every_seconds)
