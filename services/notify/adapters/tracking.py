"""notify's tracking recorder: a batch, the consumer's position and dead letters, at once."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import case, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.batch import SqlNotifyBatch, add_dead_letter
from services.notify.adapters.store import SqlStore, dialect_insert
from services.notify.service_layer.ports import NewDeadLetter, NotifyBatch
from shared.clock import Clock
from shared.tracking import Tracking

R = TypeVar("R")


@cache
def _advance(dialect: str) -> Any:
    # One statement whatever came before: a redelivered batch comes back below the
    # position reached, and the position never moves back.
    stmt = dialect_insert(dialect, t.tracking)
    current = t.tracking.c.stream_sequence
    return stmt.on_conflict_do_update(
        index_elements=[t.tracking.c.consumer],
        set_={
            "stream_sequence": case(
                (stmt.excluded.stream_sequence > current, stmt.excluded.stream_sequence),
                else_=current,
            ),
            "updated_at": stmt.excluded.updated_at,
        },
    )


class SqlTrackingRecorder:
    """Implements `ports.NotifyRecorder` (a `shared.tracking.TrackingRecorder`).

    notify has one consumer and one dead-letter table: the letters are not kept per
    consumer (a delivery's dead letters are in the same table, recorded by the sender).
    """

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._store = SqlStore(engine)
        self._engine = engine
        self._clock = clock

    async def record(
        self,
        tracking: Tracking,
        work: Callable[[NotifyBatch], R],
        dead: Sequence[NewDeadLetter] = (),
    ) -> R:
        """Run `work` on the batch's rows, advance the consumer and keep `dead`, atomically."""

        def unit(conn: Connection) -> R:
            result = work(SqlNotifyBatch(conn))
            conn.execute(
                _advance(conn.dialect.name),
                {
                    "consumer": tracking.consumer,
                    "stream_sequence": tracking.position,
                    "updated_at": self._clock.now(),
                },
            )
            for letter in dead:
                add_dead_letter(conn, letter)
            return result

        async with self._store.transaction() as tx:
            return await tx.connection.run_sync(unit)

    async def position(self, consumer: str) -> int | None:
        """The stream sequence `consumer` has recorded, or None before its first batch."""
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(t.tracking.c.stream_sequence).where(t.tracking.c.consumer == consumer)
            )
        return int(found) if found is not None else None

    async def recorded_dead_letters(self, consumer: str, keys: Collection[str]) -> set[str]:
        """Which of `keys` are kept as dead letters (of notify's one consumer)."""
        dl = t.dead_letters
        async with self._engine.connect() as conn:
            found = await conn.scalars(select(dl.c.letter_key).where(dl.c.letter_key.in_(keys)))
            return {str(key) for key in found}
