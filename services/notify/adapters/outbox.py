"""Publishes notify's own events from its outbox table to JetStream, in order.

Each row goes out with `Nats-Msg-Id` = the event id, so a publish repeated after a crash
(before the row was marked) is dropped by JetStream's duplicate window.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.js import JetStreamContext
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.store import SqlStore
from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)

_IN_FLIGHT = 100
"""Publishes awaiting their acknowledgement at once."""


class OutboxPublisher:
    """Moves outbox rows to the bus; `wake` after a commit to publish at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        clock: Clock,
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        publish_timeout: float = 5.0,
    ) -> None:
        self._engine = engine
        self._js = js
        self._clock = clock
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._publish_timeout = publish_timeout
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Publish without waiting for the next poll."""
        self._wake.set()

    async def publish_once(self) -> int:
        """Publish one batch of pending rows in order; return how many went out."""
        o = t.outbox
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(o.c.id, o.c.subject, o.c.msg_id, o.c.body)
                    .where(o.c.published_at.is_(None))
                    .order_by(o.c.id)
                    .limit(self._batch_size)
                )
            ).all()
        published: list[int] = []
        failure: BaseException | None = None
        for start in range(0, len(rows), _IN_FLIGHT):
            chunk = rows[start : start + _IN_FLIGHT]
            # Published concurrently but written to the connection in order, so the
            # stream keeps the outbox's order; only the prefix that succeeded is marked,
            # and the rest goes again (JetStream drops repeats by Nats-Msg-Id).
            results = await asyncio.gather(
                *(
                    self._js.publish(
                        row.subject,
                        row.body,
                        headers={"Nats-Msg-Id": row.msg_id},
                        timeout=self._publish_timeout,
                    )
                    for row in chunk
                ),
                return_exceptions=True,
            )
            for row, result in zip(chunk, results, strict=True):
                if isinstance(result, BaseException):
                    failure = result
                    break
                published.append(row.id)
            if failure is not None:
                break
        if published:
            async with SqlStore(self._engine).transaction() as tx:
                await tx.connection.execute(
                    update(o).where(o.c.id.in_(published)).values(published_at=self._clock.now())
                )
        if failure is not None:
            raise failure
        return len(published)

    async def run(self) -> None:
        """Publish until cancelled; a failing bus is retried after a pause."""
        while True:
            # Cleared before looking: an event committed meanwhile wakes the wait at once.
            self._wake.clear()
            try:
                count = await self.publish_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notify.outbox_publish_failed", error=repr(exc))
                count = 0
                await asyncio.sleep(self._poll_seconds)
            if count >= self._batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
