"""notify's outbox as the outbox publisher sees it, and the publisher made of it.

notify's `notification.*` events are part of the log like dispatch's: the outbox keeps
every row, published or not, and they reach the stream in outbox order (the whole
outbox is one lane, pipelined `_IN_FLIGHT` deep). The shared publisher
(`shared.outbox`) checks the EVENTS stream before each batch: while it is missing
notify waits for dispatch to create it; a stream that lost notify's events gets all of
them again, in outbox order, before anything new.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.js import JetStreamContext
from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.store import SqlStore
from shared.clock import Clock
from shared.jetstream import OutgoingMessage
from shared.outbox import OutboxMetrics, OutboxPublisher, OutboxRow
from shared.outbox_retention import prune_published
from shared.published_counts import count_published, kept_published
from shared.stream_check import BusState

NOTIFY_SUBJECTS = ("events.*.*.notification.>",)
"""The subjects notify publishes on."""

_LANE = "notify-outbox"
"""The one lane: notify promises its events in outbox order."""

_IN_FLIGHT = 100
"""Publishes of the lane awaiting their acknowledgement at once."""

METRICS = OutboxMetrics.named(
    "notify",
    backlog="notify_outbox_backlog",
    published="notify_outbox_published_total",
    errors="notify_outbox_publish_errors_total",
    lag="notify_outbox_lag_seconds",
)

_COLUMNS = (
    t.outbox.c.id,
    t.outbox.c.subject,
    t.outbox.c.msg_id,
    t.outbox.c.body,
    t.outbox.c.created_at,
)


@dataclass(slots=True)
class _Claim:
    engine: AsyncEngine
    rows: Sequence[OutboxRow]
    more: bool

    async def settle(
        self, published: Sequence[OutboxRow], failed: Mapping[int, str], at: datetime
    ) -> None:
        # The table keeps no attempt count: a failed row stays pending (the publisher's
        # log and `notify_outbox_publish_errors_total` tell of the failure).
        if not published:
            return
        o = t.outbox
        async with SqlStore(self.engine).transaction() as tx:
            marked = await tx.connection.execute(
                update(o)
                .where(o.c.id.in_([row.id for row in published]), o.c.published_at.is_(None))
                .values(published_at=at)
            )
            await count_published(tx.connection, t.outbox_published, marked.rowcount, at)

    async def backlog(self) -> int:
        o = t.outbox
        async with self.engine.connect() as conn:
            query = select(func.count()).select_from(o).where(o.c.published_at.is_(None))
            return int(await conn.scalar(query) or 0)


class SqlNotifyOutbox:
    """notify's `notify_outbox` table (implements `shared.outbox.OutboxRows`).

    A claim is a plain read: two notify processes may publish the same rows, in the
    same order, and JetStream drops the repeats by `Nats-Msg-Id`.
    """

    def __init__(self, engine: AsyncEngine, events_max_age_days: int = 0) -> None:
        self._engine = engine
        self._events_max_age_days = events_max_age_days

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[_Claim]:
        """The oldest pending rows, in outbox order."""
        o = t.outbox
        query = select(*_COLUMNS).where(o.c.published_at.is_(None)).order_by(o.c.id).limit(limit)
        async with self._engine.connect() as conn:
            rows = [_row(row) for row in (await conn.execute(query)).mappings()]
        yield _Claim(self._engine, rows, len(rows) == limit)

    async def published_count(self) -> int:
        """Rows JetStream acknowledged (and still keeps, by the stream's max age)."""
        async with self._engine.connect() as conn:
            return await kept_published(
                conn, t.outbox_published, self._events_max_age_days, datetime.now(UTC)
            )

    async def prune(self, older_than: datetime, limit: int) -> int:
        """Delete up to `limit` of the oldest rows published before `older_than`."""
        return await prune_published(self._engine, t.outbox, older_than, limit)

    async def everything(self, page_size: int) -> AsyncIterator[Sequence[OutboxRow]]:
        """Every row, published or pending, in outbox order."""
        o = t.outbox
        after = 0
        while True:
            query = select(*_COLUMNS).where(o.c.id > after).order_by(o.c.id).limit(page_size)
            async with self._engine.connect() as conn:
                page = [_row(row) for row in (await conn.execute(query)).mappings()]
            if not page:
                return
            yield page
            after = page[-1].id

    def refill_lock(self) -> AbstractAsyncContextManager[None]:
        """Nothing to hold: claims take no lock, and repeats are dropped by id."""
        return contextlib.nullcontext()


def _row(row: RowMapping) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        lane=_LANE,
        message=OutgoingMessage(row["subject"], row["body"], row["msg_id"]),
        created_at=row["created_at"],
    )


def outbox_publisher(
    engine: AsyncEngine,
    js: JetStreamContext,
    clock: Clock,
    *,
    bus: BusState | None = None,
    batch_size: int = 500,
    poll_seconds: float = 1.0,
    publish_timeout: float = 5.0,
    events_max_age_days: int = 0,
) -> OutboxPublisher:
    """The publisher of notify's outbox; `wake` it after a commit to publish at once.

    `events_max_age_days` is the stream's max age (0: none): published events older than
    that are not looked for in the stream."""
    return OutboxPublisher(
        SqlNotifyOutbox(engine, events_max_age_days),
        js,
        name="notify",
        subjects=NOTIFY_SUBJECTS,
        metrics=METRICS,
        clock=clock,
        log_name="notify",
        lane_depth=_IN_FLIGHT,
        batch_size=batch_size,
        poll_seconds=poll_seconds,
        publish_timeout=publish_timeout,
        # Checked before each batch: notify's events are few next to dispatch's.
        stream_check_seconds=0.0,
        bus=bus,
    )
