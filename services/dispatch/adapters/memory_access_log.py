"""`AccessLog` in memory: for tests and for running the service layer without a database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from services.dispatch.service_layer.access_log import AccessEntry, AccessQuery, LoggedAccess


class InMemoryAccessLog:
    """The access log as a list; `failing` makes every write fail (a database outage)."""

    def __init__(self) -> None:
        self.entries: list[LoggedAccess] = []
        self.failing = False

    async def record(self, entries: Sequence[AccessEntry]) -> None:
        """Append `entries`, numbered after the last one."""
        if self.failing:
            raise ConnectionError("the access log is unreachable")
        first = self.entries[-1].id + 1 if self.entries else 1
        self.entries.extend(LoggedAccess(**asdict(e), id=first + n) for n, e in enumerate(entries))

    async def close(self) -> None:
        """Nothing to release: the list lives as long as the log."""

    async def read(self, query: AccessQuery, limit: int) -> list[LoggedAccess]:
        """The matching entries, newest first."""
        found = [e for e in reversed(self.entries) if _matches(e, query)]
        return found[:limit]

    async def prune(self, older_than: datetime, limit: int) -> int:
        """Drop the oldest `limit` entries written before `older_than`."""
        expired = sorted((e for e in self.entries if e.at < older_than), key=lambda e: (e.at, e.id))
        gone = {e.id for e in expired[:limit]}
        self.entries = [e for e in self.entries if e.id not in gone]
        return len(gone)


def _matches(entry: LoggedAccess, query: AccessQuery) -> bool:
    return (
        entry.tenant == query.tenant
        and query.resident in (None, entry.resident)
        and query.subject in (None, entry.subject)
        and (query.since is None or entry.at >= query.since)
        and (query.until is None or entry.at < query.until)
        and (query.before_id is None or entry.id < query.before_id)
    )
