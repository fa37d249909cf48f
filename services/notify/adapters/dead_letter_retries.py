"""Retrying one of notify's dead letters on SQL, the letter locked for the retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.batch import SqlRetryBatch
from services.notify.adapters.store import SqlStore
from services.notify.service_layer.ports import DeadLetterRecord, RetryBatch

R = TypeVar("R")


class SqlDeadLetterRetries:
    """Implements `ports.DeadLetterRetries`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._store = SqlStore(engine)

    async def retry(
        self, dead_letter_id: int, work: Callable[[DeadLetterRecord | None, RetryBatch], R]
    ) -> R:
        """Run `work` on the dead letter and a batch retrying it, in one transaction."""

        def unit(conn: Connection) -> R:
            return work(_locked(conn, dead_letter_id), SqlRetryBatch(conn))

        async with self._store.transaction() as tx:
            return await tx.connection.run_sync(unit)


def _locked(conn: Connection, dead_letter_id: int) -> DeadLetterRecord | None:
    """One dead letter (the write transaction already holds the lock on SQLite)."""
    query = select(t.dead_letters).where(t.dead_letters.c.id == dead_letter_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return DeadLetterRecord(
        id=row["id"],
        kind=row["kind"],
        tenant=row["tenant"],
        project=row["project"],
        delivery_id=row["delivery_id"],
        data=row["data"],
        error=row["error"],
        retried_at=row["retried_at"],
    )
