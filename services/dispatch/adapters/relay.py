"""The outbox relay: publishes committed events to JetStream, per work order in version order.

Each round takes pending outbox rows, publishes them with `Nats-Msg-Id` = event id in
waves (wave k holds the k-th row of each work order, acknowledged before wave k+1),
and marks the acknowledged rows `published`.

On PostgreSQL, several dispatch processes may relay at once: a round locks the rows at
the head of their work order's stream with `FOR UPDATE SKIP LOCKED` (plus the rows
queued behind them), publishes while holding the claim and marks in the same
transaction, so each work order is worked by one relay at a time. On SQLite a round
reads the oldest pending rows, publishes without holding SQLite's single writer lock,
and marks in a short write transaction (see `_round_on_sqlite`).

A relay that dies after publishing and before marking leaves its rows pending; whoever
publishes them again within JetStream's duplicate window (2 min) is dropped by it;
after a longer outage the event is stored twice, and consumers skip it by event id
(docs/events.md).

dispatch owns the EVENTS stream: at start and before its rounds (at most every
`stream_check_seconds`) the relay checks the stream against its record and its store
(`shared.stream_check`). A stream that is missing, new, behind its record or holding
fewer events than were published is refilled from the store, per work order in
version order, before any new event goes out (`_repair`); one that still holds some
of dispatch's events is replaced by a fresh one first, so none comes out of order.
On PostgreSQL the repair holds a lock every relay's round takes shared, so no relay of
another process publishes meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.jetstream import (
    OutgoingMessage,
    StreamMissing,
    describe_error,
    publish_wave,
)
from services.dispatch.adapters.republish import (
    DISPATCH_SUBJECTS,
    pause_during_republish,
    published_count,
    republish_all,
    republish_lock,
)
from shared.clock import Clock
from shared.database import is_sqlite
from shared.logging import get_logger
from shared.stream_check import BusState, StreamRecord
from shared.subjects import EVENTS_STREAM

log = get_logger(__name__)

OUTBOX_BACKLOG = Gauge("dispatch_outbox_backlog", "Outbox rows not yet acknowledged by JetStream")
RELAY_LAG = Histogram(
    "dispatch_relay_lag_seconds",
    "Time from an event's commit to JetStream's acknowledgement of it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
RELAY_PUBLISHED = Counter("dispatch_relay_published_total", "Outbox rows acknowledged by JetStream")
RELAY_PUBLISH_ERRORS = Counter(
    "dispatch_relay_publish_errors_total",
    "Outbox rows whose publish failed or was not acknowledged in time",
)

_FURTHER_ROWS_PER_HEAD = 10
"""Cap on the rows claimed behind the heads, per head of the batch size."""


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    event_id: UUID
    stream_id: str
    version: int
    subject: str
    payload: bytes
    created_at: datetime

    def message(self) -> OutgoingMessage:
        return OutgoingMessage(self.subject, self.payload, str(self.event_id))


@dataclass(slots=True)
class _RoundResult:
    claimed: int = 0
    published: int = 0
    failed: int = 0
    more: bool = False
    """The claim hit a limit, so more pending rows may be claimable right away."""
    first_error: str | None = None


@dataclass(slots=True)
class _PublishOutcome:
    acked: list[_Row] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    """Row id → error text."""


_ROW_COLUMNS = (
    t.outbox.c.id,
    t.outbox.c.event_id,
    t.outbox.c.stream_id,
    t.outbox.c.version,
    t.outbox.c.subject,
    t.outbox.c.payload,
    t.outbox.c.created_at,
)


class OutboxRelay:
    """Publishes the outbox to JetStream, per work order in version order, until cancelled.

    `before_mark` is a fault-injection point for tests: it is awaited with the event ids
    of a round's acknowledged rows after they reached JetStream and before they are
    marked published, so a test can kill the relay exactly there.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        publish_timeout: float = 5.0,
        clock: Clock,
        max_backoff: float = 5.0,
        before_mark: Callable[[Sequence[UUID]], Awaitable[None]] | None = None,
        stream_replicas: int = 1,
        events_max_age_days: int = 0,
        bus: BusState | None = None,
        stream_check_seconds: float = 1.0,
        stream_count_seconds: float = 30.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._engine = engine
        self._js = js
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._publish_timeout = publish_timeout
        self._clock = clock
        self._max_backoff = max_backoff
        self._before_mark = before_mark
        self._stream_replicas = stream_replicas
        self._events_max_age_days = events_max_age_days
        self._wake = asyncio.Event()
        self.bus = bus if bus is not None else BusState()
        self._record = StreamRecord(
            js,
            EVENTS_STREAM,
            DISPATCH_SUBJECTS,
            lambda: published_count(engine, events_max_age_days),
            identity_seconds=stream_check_seconds,
            count_seconds=stream_count_seconds,
        )

    def wake(self) -> None:
        """Start the next round now instead of at the next poll (called after each commit)."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Run one claim-publish-mark round; return how many rows JetStream acknowledged."""
        return (await self._round()).published

    async def run(self) -> None:
        """Relay until cancelled; errors are logged and retried with exponential back-off."""
        delay = 0.0
        log.info("relay.started", batch_size=self._batch_size)
        while True:
            # Cleared before the round: a commit during the round wakes the next one.
            self._wake.clear()
            try:
                await self._check_stream()
                result = await self._round()
            except StreamMissing:
                self._record.forget()
                continue
            except Exception as exc:  # database or NATS trouble: the rows stay pending
                delay = self._next_delay(delay)
                log.warning("relay.round_failed", error=describe_error(exc), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            if result.failed and not result.published:
                # Nothing went through (NATS down or rejecting): back off rather than spin.
                # A round that made progress carries on, so one rejected row only holds
                # back its own work order.
                delay = self._next_delay(delay)
                log.warning(
                    "relay.publish_failed",
                    failed=result.failed,
                    error=result.first_error,
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                continue
            delay = 0.0
            if result.claimed:
                log.debug("relay.round", claimed=result.claimed, published=result.published)
            if result.more or result.failed:
                continue
            # Real time, not the injected clock: polling is plumbing, and a manual test
            # clock would otherwise stop the relay.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def _check_stream(self) -> None:
        """Repair the stream first if it does not hold what was published (when a check is due)."""
        reason = await self._record.due_loss()
        if reason is not None:
            await self._repair(reason)
        elif self.bus.stream != "complete":
            self.bus.stream = "complete"

    async def _repair(self, reason: str) -> None:
        """Refill the stream from the store, replaced first if it must be (ARCHITECTURE: recovery).

        Every event is in the store, republished per work order in version order; the
        pending rows that follow are duplicates JetStream drops. Under the lock the
        stream is checked afresh: another process's relay may have repaired it already.
        """
        async with republish_lock(self._engine):
            self._record.forget()
            reason = await self._record.loss() or ""
            if not reason:
                return
            log.error(
                "relay.stream_lost",
                reason=reason,
                action="replacing the stream and republishing the store before any new event",
            )
            self.bus.lost("dispatch", reason)
            # Some of dispatch's events but not all: what follows could not come after
            # them in order, so the stream starts afresh. A stream without any of them
            # (new, or holding only notify's events) is filled as it is; notify's events
            # in it stay, so notify does not race the replacement with its own refill.
            replace = reason != "stream missing" and await self._record.held() > 0
            count = await republish_all(
                self._engine,
                self._js,
                publish_timeout=self._publish_timeout,
                stream_replicas=self._stream_replicas,
                events_max_age_days=self._events_max_age_days,
                replace_stream=replace,
                locked=True,
            )
            self._record.forget()
        self.bus.repaired("dispatch", count)
        log.warning("relay.stream_repaired", republished=count)

    def _next_delay(self, delay: float) -> float:
        return min(self._max_backoff, 0.1 if delay == 0 else delay * 2)

    async def _round(self) -> _RoundResult:
        if is_sqlite(self._engine):
            return await self._round_on_sqlite()
        async with self._engine.connect() as conn, conn.begin():
            await pause_during_republish(conn)
            heads, further, more = await self._claim(conn)
            outcome = await self._publish_and_report(heads + further)
            await self._mark(conn, outcome)
            backlog = -1 if more else await _backlog(conn)
        return self._result(heads + further, outcome, more, backlog)

    async def _round_on_sqlite(self) -> _RoundResult:
        # SQLite has one writer lock: holding it while waiting for JetStream's acks would
        # stall every append. So the claim is a plain read and only the marking writes.
        # Two processes' relays may then publish the same rows; each publishes a work
        # order's rows in version order after its earlier ones were acknowledged, and
        # JetStream drops the repeated Nats-Msg-Id, so order and exactly-once both hold.
        async with self._engine.connect() as conn, conn.begin():
            rows = await self._oldest_pending(conn)
        outcome = await self._publish_and_report(rows)
        more = len(rows) == self._batch_size
        async with self._engine.begin() as conn:
            await self._mark(conn, outcome)
            backlog = -1 if more else await _backlog(conn)
        return self._result(rows, outcome, more, backlog)

    async def _oldest_pending(self, conn: AsyncConnection) -> list[_Row]:
        """The oldest pending rows by id: with no row locks to skip, a prefix of the outbox
        holds a prefix of every work order's pending events, which is all ordering needs."""
        outbox = t.outbox
        query = (
            select(*_ROW_COLUMNS)
            .where(outbox.c.status == "pending")
            .order_by(outbox.c.id)
            .limit(self._batch_size)
        )
        return [_Row(**row) for row in (await conn.execute(query)).mappings()]

    async def _publish_and_report(self, rows: list[_Row]) -> _PublishOutcome:
        outcome = await self._publish(rows) if rows else _PublishOutcome()
        if self._before_mark is not None and outcome.acked:
            await self._before_mark([row.event_id for row in outcome.acked])
        return outcome

    @staticmethod
    def _result(
        rows: list[_Row], outcome: _PublishOutcome, more: bool, backlog: int
    ) -> _RoundResult:
        if backlog >= 0:  # counted only when a round drained what it could see: a count is a scan
            OUTBOX_BACKLOG.set(backlog)
        return _RoundResult(
            claimed=len(rows),
            published=len(outcome.acked),
            failed=len(outcome.failed),
            more=more,
            first_error=next(iter(outcome.failed.values()), None),
        )

    async def _claim(self, conn: AsyncConnection) -> tuple[list[_Row], list[_Row], bool]:
        """The heads of up to `batch_size` streams, locked, and the rows queued behind them."""
        outbox = t.outbox
        earlier = outbox.alias("earlier")
        columns = _ROW_COLUMNS
        heads_query = (
            select(*columns)
            .where(outbox.c.status == "pending")
            .where(
                ~exists().where(
                    earlier.c.stream_id == outbox.c.stream_id,
                    earlier.c.status == "pending",
                    earlier.c.id < outbox.c.id,
                )
            )
            .order_by(outbox.c.id)
            .limit(self._batch_size)
        )
        if conn.dialect.name == "postgresql":
            heads_query = heads_query.with_for_update(skip_locked=True, of=outbox)
        heads = [_Row(**row) for row in (await conn.execute(heads_query)).mappings()]
        if not heads:
            return [], [], False
        further_limit = self._batch_size * _FURTHER_ROWS_PER_HEAD
        # No other relay can claim these: they are not heads while our locked head is
        # pending. The cap only bounds memory for a pathological backlog; ordered by id,
        # the cut leaves each stream a prefix, and the rest waits for the next round.
        further_query = (
            select(*columns)
            .where(
                outbox.c.status == "pending",
                outbox.c.stream_id.in_(sorted({row.stream_id for row in heads})),
                outbox.c.id.not_in([row.id for row in heads]),
            )
            .order_by(outbox.c.id)
            .limit(further_limit)
        )
        further = [_Row(**row) for row in (await conn.execute(further_query)).mappings()]
        more = len(heads) == self._batch_size or len(further) == further_limit
        return heads, further, more

    async def _publish(self, rows: list[_Row]) -> _PublishOutcome:
        """Publish in waves: wave k holds the k-th row of each stream, acked before wave k+1."""
        streams: dict[str, list[_Row]] = {}
        for row in rows:
            streams.setdefault(row.stream_id, []).append(row)
        queues = [sorted(queue, key=lambda r: r.version) for queue in streams.values()]
        outcome = _PublishOutcome()
        broken: set[str] = set()
        for k in range(max(len(queue) for queue in queues)):
            wave = [q[k] for q in queues if len(q) > k and q[k].stream_id not in broken]
            if not wave:
                break
            errors = await publish_wave(
                self._js, [row.message() for row in wave], self._publish_timeout
            )
            acked_at = self._clock.now()
            for row, error in zip(wave, errors, strict=True):
                if error is None:
                    outcome.acked.append(row)
                    RELAY_LAG.observe(max(0.0, (acked_at - row.created_at).total_seconds()))
                else:
                    # Later rows of this work order wait: publishing them now could
                    # overtake this one when it is retried.
                    outcome.failed[row.id] = error
                    broken.add(row.stream_id)
        RELAY_PUBLISHED.inc(len(outcome.acked))
        RELAY_PUBLISH_ERRORS.inc(len(outcome.failed))
        return outcome

    async def _mark(self, conn: AsyncConnection, outcome: _PublishOutcome) -> None:
        outbox = t.outbox
        if outcome.acked:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([row.id for row in outcome.acked]))
                .values(status="published", published_at=self._clock.now())
            )
        by_error: dict[str, list[int]] = {}
        for row_id, error in outcome.failed.items():
            by_error.setdefault(error, []).append(row_id)
        for error, ids in by_error.items():
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(attempts=outbox.c.attempts + 1, last_error=error)
            )


async def _backlog(conn: AsyncConnection) -> int:
    count = await conn.scalar(
        select(func.count()).select_from(t.outbox).where(t.outbox.c.status == "pending")
    )
    return int(count or 0)
