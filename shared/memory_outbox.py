"""An outbox in memory: the `OutboxRows` contract without a database.

For tests of the outbox publisher that are not about storage: they run in milliseconds.
It keeps one process's rows only, so it is never what a service runs on. A claim holds
the lanes it took until its block ends, and another claim meanwhile skips them (as
`SKIP LOCKED` on the heads of the lanes does on PostgreSQL); claims share the refill
lock, which a refill takes alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.jetstream import OutgoingMessage
from shared.outbox import OutboxRow


@dataclass(slots=True)
class StoredRow:
    """An outbox row and what became of it."""

    row: OutboxRow
    published_at: datetime | None = None
    attempts: int = 0
    """Publishes that failed."""
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class _Claim:
    outbox: InMemoryOutbox
    rows: Sequence[OutboxRow]
    more: bool

    async def settle(
        self, published: Sequence[OutboxRow], failed: Mapping[int, str], at: datetime
    ) -> None:
        """Mark `published` published at `at`; count and keep the error of each failed row."""
        self.outbox.settle(published, failed, at)

    async def backlog(self) -> int:
        """How many rows are still pending."""
        return len(self.outbox.pending())


class InMemoryOutbox:
    """`OutboxRows` over a list of rows in the order they were added."""

    def __init__(self) -> None:
        self.stored: list[StoredRow] = []
        self._held: set[str] = set()
        self._claims = 0
        self._refilling = False
        self._turn = asyncio.Condition()

    def add(self, lane: str, message: OutgoingMessage, created_at: datetime) -> OutboxRow:
        """Commit one event to the outbox, behind every row added before it."""
        row = OutboxRow(len(self.stored) + 1, lane, message, created_at)
        self.stored.append(StoredRow(row))
        return row

    def pending(self) -> list[OutboxRow]:
        """The rows not yet published, in the order they were added."""
        return [s.row for s in self.stored if s.published_at is None]

    def settle(
        self, published: Sequence[OutboxRow], failed: Mapping[int, str], at: datetime
    ) -> None:
        """Mark `published` published at `at`; count and keep the error of each failed row."""
        done = {row.id for row in published}
        for stored in self.stored:
            if stored.row.id in done:
                stored.published_at = at
            elif stored.row.id in failed:
                stored.attempts += 1
                stored.last_error = failed[stored.row.id]

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[_Claim]:
        """The oldest pending rows of the lanes no other claim holds, up to `limit`."""
        async with self._turn:
            # Wait while a refill holds its lock.
            await self._turn.wait_for(lambda: not self._refilling)
            self._claims += 1
        free = [row for row in self.pending() if row.lane not in self._held]
        rows = free[:limit]
        lanes = {row.lane for row in rows}
        self._held |= lanes
        try:
            yield _Claim(self, rows, len(free) > limit)
        finally:
            self._held -= lanes
            async with self._turn:
                self._claims -= 1
                self._turn.notify_all()

    async def published_count(self) -> int:
        """How many rows were marked published."""
        return sum(1 for s in self.stored if s.published_at is not None)

    async def everything(self, page_size: int) -> AsyncIterator[Sequence[OutboxRow]]:
        """Every row, published or not, in pages of `page_size` in the order added."""
        rows = [s.row for s in self.stored]
        for start in range(0, len(rows), page_size):
            yield rows[start : start + page_size]

    @contextlib.asynccontextmanager
    async def refill_lock(self) -> AsyncIterator[None]:
        """Held alone: it waits for the claims held, and new claims wait for it."""
        async with self._turn:
            await self._turn.wait_for(lambda: not self._refilling and self._claims == 0)
            self._refilling = True
        try:
            yield
        finally:
            async with self._turn:
                self._refilling = False
                self._turn.notify_all()
