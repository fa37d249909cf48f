"""Publishes notify's own events from its outbox table to JetStream, in order.

Each row goes out with `Nats-Msg-Id` = the event id, so a publish repeated after a crash
(before the row was marked) is dropped by JetStream's duplicate window.

notify's `notification.*` events are part of the log like dispatch's, and the outbox
keeps every row, published or not. Before publishing, the publisher checks the EVENTS
stream against its record and its outbox (`shared.stream_check`): while the stream is
missing it waits for dispatch to create it; a stream that lost notify's events gets all
of them again, in outbox order, before anything new.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.store import SqlStore
from shared.clock import Clock
from shared.logging import get_logger
from shared.stream_check import BusState, StreamRecord
from shared.subjects import EVENTS_STREAM

log = get_logger(__name__)

_IN_FLIGHT = 100
"""Publishes awaiting their acknowledgement at once."""

NOTIFY_SUBJECTS = ("events.*.*.notification.>",)
"""The subjects notify publishes on."""


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
        bus: BusState | None = None,
        stream_check_seconds: float = 0.0,
        stream_count_seconds: float = 30.0,
    ) -> None:
        self._engine = engine
        self._js = js
        self._clock = clock
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._publish_timeout = publish_timeout
        self._wake = asyncio.Event()
        self.bus = bus if bus is not None else BusState()
        self._record = StreamRecord(
            js,
            EVENTS_STREAM,
            NOTIFY_SUBJECTS,
            self._published_count,
            identity_seconds=stream_check_seconds,
            count_seconds=stream_count_seconds,
        )

    def wake(self) -> None:
        """Publish without waiting for the next poll."""
        self._wake.set()

    async def publish_once(self) -> int:
        """Publish one batch of pending rows in order; return how many went out.

        A stream that lost notify's events (checked when due) first gets them all again;
        a missing stream publishes nothing (dispatch creates it).
        """
        reason = await self._record.due_loss()
        if reason == "stream missing":
            if self.bus.stream != "missing":
                log.warning("notify.stream_missing", action="waiting for dispatch to create it")
            self.bus.stream = "missing"
            self._record.forget()
            return 0
        if reason is not None:
            await self._republish(reason)
        elif self.bus.stream != "complete":
            self.bus.stream = "complete"
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
        return await self._publish(rows)

    async def _published_count(self) -> int:
        o = t.outbox
        async with self._engine.connect() as conn:
            query = select(func.count()).select_from(o).where(o.c.published_at.is_not(None))
            return int(await conn.scalar(query) or 0)

    async def _republish(self, reason: str) -> None:
        """Publish every outbox row again, in order, pages of `batch_size`; then trust the stream."""
        log.error(
            "notify.stream_lost",
            reason=reason,
            action="republishing notify's events before any new one",
        )
        self.bus.lost("notify", reason)
        o = t.outbox
        after = 0
        total = 0
        while True:
            async with self._engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(o.c.id, o.c.subject, o.c.msg_id, o.c.body)
                        .where(o.c.id > after)
                        .order_by(o.c.id)
                        .limit(self._batch_size)
                    )
                ).all()
            if not rows:
                break
            # Pending rows go too (their turn is now) and get marked.
            total += await self._publish(rows)
            after = rows[-1].id
        self._record.forget()
        self.bus.repaired("notify", total)
        log.warning("notify.stream_repaired", republished=total)

    async def _publish(self, rows: Sequence[Row[Any, Any, Any, Any]]) -> int:
        """Publish `rows` in order; mark the acknowledged prefix; raise the first failure."""
        o = t.outbox
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
                    update(o)
                    .where(o.c.id.in_(published), o.c.published_at.is_(None))
                    .values(published_at=self._clock.now())
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
