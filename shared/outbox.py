"""One outbox publisher: moves a service's committed events to JetStream, in order.

A service commits its events together with outbox rows; this publisher claims the
pending rows, publishes each with `Nats-Msg-Id` = its event id and marks the
acknowledged ones published. What differs between services is a small port,
`OutboxRows` (its table, how rows are claimed, what a refill reads), and a few
settings: the publisher's name and subjects, its metrics, how deep a lane may be
pipelined, and whether it owns the EVENTS stream.

Order. Every row belongs to a lane (dispatch: its work order; notify: the whole
outbox). A round publishes in waves: wave k holds the k-th slice of `lane_depth`
rows of each lane, acknowledged before wave k+1. With a depth of one (dispatch) no
event can overtake an earlier one of its lane; a deeper lane (notify) is written to
the connection in order, so the stream keeps that order unless a publish fails
midway. After a failure the rest of that lane waits for the next round.

Duplicates. A publisher that dies after publishing and before marking leaves its rows
pending; whoever publishes them again within JetStream's duplicate window (2 min) is
dropped by it; after a longer outage the event is stored twice, and consumers skip
it by event id (docs/events.md).

A lost stream. At start and before its rounds (at most every `stream_check_seconds`)
the publisher checks the stream against its record and its store
(`shared.stream_check`). A stream that is missing, new, behind its record or holding
fewer events than were published is refilled from the store, lane by lane in order,
before any new event goes out. The stream's owner (dispatch) creates a missing
stream, and replaces one that still holds some but not all of its events first, so
none comes out of order; any other publisher waits for the owner to create it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from prometheus_client import Counter, Gauge, Histogram

from shared.clock import Clock
from shared.errors import Unavailable
from shared.jetstream import OutgoingMessage, StreamMissing, describe_error, publish_wave
from shared.logging import get_logger
from shared.nats import ensure_streams
from shared.stream_check import BusState, StreamRecord
from shared.subjects import EVENTS_STREAM
from shared.tasks import woken

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One event waiting in (or read back from) an outbox."""

    id: int
    """Its place in its store: ascending within a lane in commit order."""
    lane: str
    """Its ordering key: the rows of one lane reach the stream in the order given."""
    message: OutgoingMessage
    created_at: datetime


class Claim(Protocol):
    """Rows claimed for one round, and where the round's outcome is written."""

    @property
    def rows(self) -> Sequence[OutboxRow]:
        """The oldest pending rows this claim holds, each lane's in order."""
        ...

    @property
    def more(self) -> bool:
        """The claim hit a limit: more pending rows may be claimable right away."""
        ...

    async def settle(
        self, published: Sequence[OutboxRow], failed: Mapping[int, str], at: datetime
    ) -> None:
        """Mark `published` as published at `at`; note the failures (row id → error text)
        where the store keeps them. Rows in neither stay pending as they were."""
        ...

    async def backlog(self) -> int:
        """How many rows are still pending after the settlement."""
        ...


class OutboxRows(Protocol):
    """An outbox table as the publisher sees it (the port each service implements)."""

    def claim(self, limit: int) -> AbstractAsyncContextManager[Claim]:
        """Claim the oldest pending rows for one round: up to `limit` of them, or, for a
        store that locks the head of each lane, up to `limit` heads and the rows behind.

        The claim is held until the block ends; another publisher on the same store
        either skips what it holds or publishes the same rows in the same lane order
        (JetStream drops the repeats). An error before `settle` leaves every row pending.
        """
        ...

    async def published_count(self) -> int:
        """How many events the store says the stream acknowledged (and still keeps)."""
        ...

    def everything(self, page_size: int) -> AsyncIterator[Sequence[OutboxRow]]:
        """Every stored event, pages of about `page_size`, each lane in order: a refill."""
        ...

    def refill_lock(self) -> AbstractAsyncContextManager[None]:
        """Held while the stream is refilled: the store's claims wait for it."""
        ...


_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)


@dataclass(frozen=True, slots=True)
class OutboxMetrics:
    """The metrics one publisher reports (their names are the service's own)."""

    backlog: Gauge
    published: Counter
    errors: Counter
    lag: Histogram

    @classmethod
    def named(
        cls, owner: str, *, backlog: str, published: str, errors: str, lag: str
    ) -> OutboxMetrics:
        """The four metrics under the names dashboards know them by, for `owner`'s outbox."""
        return cls(
            backlog=Gauge(backlog, f"{owner} outbox rows not yet acknowledged by JetStream"),
            published=Counter(published, f"{owner} outbox rows acknowledged by JetStream"),
            errors=Counter(
                errors,
                f"{owner} outbox rows whose publish failed or was not acknowledged in time",
            ),
            lag=Histogram(
                lag,
                f"Time from a {owner} event's commit to JetStream's acknowledgement of it",
                buckets=_LAG_BUCKETS,
            ),
        )


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How the owner of EVENTS creates it (replicas, and the age at which events expire)."""

    replicas: int = 1
    max_age_days: int = 0


class RepublishFailed(Unavailable):
    """JetStream did not acknowledge some events for longer than a refill would wait."""

    code = "republish_failed"
    title = "Republish failed"


@dataclass(slots=True)
class _RoundResult:
    claimed: int = 0
    published: int = 0
    failed: int = 0
    more: bool = False
    first_error: str | None = None


@dataclass(slots=True)
class _Outcome:
    acked: list[OutboxRow] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    """Row id → error text."""


class OutboxPublisher:
    """Publishes one outbox to JetStream, lane by lane in order, until cancelled.

    `before_mark` is a fault-injection point for tests: it is awaited with the message
    ids of a round's acknowledged rows after they reached JetStream and before they are
    marked published, so a test can kill the publisher exactly there.
    """

    def __init__(
        self,
        rows: OutboxRows,
        js: JetStreamContext,
        *,
        name: str,
        subjects: Sequence[str],
        metrics: OutboxMetrics,
        clock: Clock,
        log_name: str,
        lane_depth: int = 1,
        owns_stream: StreamSettings | None = None,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        publish_timeout: float = 5.0,
        max_backoff: float = 5.0,
        before_mark: Callable[[Sequence[str]], Awaitable[None]] | None = None,
        bus: BusState | None = None,
        stream_check_seconds: float = 1.0,
        stream_count_seconds: float = 30.0,
    ) -> None:
        if batch_size < 1 or lane_depth < 1:
            raise ValueError("batch_size and lane_depth must be at least 1")
        self._rows = rows
        self._js = js
        self._name = name
        self._metrics = metrics
        self._clock = clock
        self._log = log_name
        self._lane_depth = lane_depth
        self._owns_stream = owns_stream
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._publish_timeout = publish_timeout
        self._max_backoff = max_backoff
        self._before_mark = before_mark
        self._wake = asyncio.Event()
        self.bus = bus if bus is not None else BusState()
        self._record = StreamRecord(
            js,
            EVENTS_STREAM,
            subjects,
            rows.published_count,
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
        """Publish until cancelled; errors are logged and retried with exponential back-off."""
        delay = 0.0
        log.info(f"{self._log}.started", batch_size=self._batch_size)
        while True:
            # Cleared before the round: a commit during the round wakes the next one.
            self._wake.clear()
            try:
                result = await self._round() if await self._stream_ready() else _RoundResult()
            except StreamMissing:
                self._record.forget()
                continue
            except Exception as exc:  # database or NATS trouble: the rows stay pending
                delay = self._next_delay(delay)
                log.warning(f"{self._log}.round_failed", error=describe_error(exc), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            if result.failed and not result.published:
                # Nothing went through (NATS down or rejecting): back off rather than spin.
                # A round that made progress carries on, so one rejected row only holds
                # back its own lane.
                delay = self._next_delay(delay)
                log.warning(
                    f"{self._log}.publish_failed",
                    failed=result.failed,
                    error=result.first_error,
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                continue
            delay = 0.0
            if result.claimed:
                log.debug(f"{self._log}.round", claimed=result.claimed, published=result.published)
            if result.more or result.failed:
                continue
            # Real time, not the injected clock: polling is plumbing, and a manual test
            # clock would otherwise stop the publisher.
            await woken(self._wake, self._poll_seconds)

    async def _stream_ready(self) -> bool:
        """Refill the stream first if it lost what was published (when a check is due);
        False while it is missing and someone else creates it."""
        reason = await self._record.due_loss()
        if reason is None:
            if self.bus.stream != "complete":
                self.bus.stream = "complete"
            return True
        if reason == "stream missing" and self._owns_stream is None:
            self._wait_for_owner()
            return False
        return await self._repair()

    def _wait_for_owner(self) -> None:
        if self.bus.stream != "missing":
            log.warning(f"{self._log}.stream_missing", action="waiting for dispatch to create it")
        self.bus.stream = "missing"
        self._record.forget()

    async def _repair(self) -> bool:
        """Refill the stream from the store, replaced first if it must be.

        Under the refill lock the stream is checked afresh: another process's publisher
        may have repaired it already. The pending rows that follow the refill are
        duplicates JetStream drops.
        """
        async with self._rows.refill_lock():
            self._record.forget()
            reason = await self._record.loss()
            if reason is None:
                return True
            if reason == "stream missing" and self._owns_stream is None:
                self._wait_for_owner()
                return False
            log.error(
                f"{self._log}.stream_lost",
                reason=reason,
                action=f"refilling the stream with {self._name}'s events before any new one",
            )
            self.bus.lost(self._name, reason)
            # Some of the owner's events but not all: what follows could not come after
            # them in order, so the stream starts afresh. A stream without any of them
            # (new, or holding only other publishers' events) is filled as it is, and
            # their events stay, so they do not race the replacement with their refills.
            replace = (
                self._owns_stream is not None
                and reason != "stream missing"
                and await self._record.held() > 0
            )
            count = await republish(
                self._js,
                self._rows.everything(self._batch_size),
                stream=self._owns_stream,
                replace_stream=replace,
                lane_depth=self._lane_depth,
                publish_timeout=self._publish_timeout,
            )
            self._record.forget()
        self.bus.repaired(self._name, count)
        log.warning(f"{self._log}.stream_repaired", republished=count)
        return True

    def _next_delay(self, delay: float) -> float:
        return min(self._max_backoff, 0.1 if delay == 0 else delay * 2)

    async def _round(self) -> _RoundResult:
        async with self._rows.claim(self._batch_size) as claim:
            rows = claim.rows
            outcome = await self._publish(rows) if rows else _Outcome()
            if self._before_mark is not None and outcome.acked:
                await self._before_mark([row.message.msg_id for row in outcome.acked])
            if outcome.acked or outcome.failed:
                await claim.settle(outcome.acked, outcome.failed, self._clock.now())
            more = claim.more
            # Counted only when a round drained what it could see: a count is a scan.
            if not more:
                self._metrics.backlog.set(await claim.backlog())
        return _RoundResult(
            claimed=len(rows),
            published=len(outcome.acked),
            failed=len(outcome.failed),
            more=more,
            first_error=next(iter(outcome.failed.values()), None),
        )

    async def _publish(self, rows: Sequence[OutboxRow]) -> _Outcome:
        """Publish in waves, each acknowledged before the next; a failure stops its lane."""
        outcome = _Outcome()
        broken: set[str] = set()
        for wave in waves(rows, self._lane_depth):
            wave = [row for row in wave if row.lane not in broken]
            if not wave:
                continue
            errors = await publish_wave(
                self._js, [row.message for row in wave], self._publish_timeout
            )
            acked_at = self._clock.now()
            for row, error in zip(wave, errors, strict=True):
                if row.lane in broken:
                    # Behind a failure in this wave: it goes again after that one.
                    continue
                if error is None:
                    outcome.acked.append(row)
                    self._metrics.lag.observe(max(0.0, (acked_at - row.created_at).total_seconds()))
                else:
                    outcome.failed[row.id] = error
                    broken.add(row.lane)
        self._metrics.published.inc(len(outcome.acked))
        self._metrics.errors.inc(len(outcome.failed))
        return outcome


def waves(rows: Sequence[OutboxRow], lane_depth: int) -> list[list[OutboxRow]]:
    """Wave k holds the k-th slice of `lane_depth` rows of each lane, lanes in first-seen order."""
    lanes: dict[str, list[OutboxRow]] = {}
    for row in rows:
        lanes.setdefault(row.lane, []).append(row)
    deepest = max((len(lane) for lane in lanes.values()), default=0)
    return [
        [row for lane in lanes.values() for row in lane[start : start + lane_depth]]
        for start in range(0, deepest, lane_depth)
    ]


async def republish(
    js: JetStreamContext,
    pages: AsyncIterator[Sequence[OutboxRow]],
    *,
    stream: StreamSettings | None = None,
    replace_stream: bool = False,
    lane_depth: int = 1,
    max_in_flight: int = 256,
    publish_timeout: float = 5.0,
    retry_timeout: float = 120.0,
    acknowledged: Callable[[int], None] | None = None,
) -> int:
    """Publish every row of `pages` again, each lane in order; return how many were published.

    With `stream` (its owner refills), EVENTS is created if missing, and with
    `replace_stream` deleted and created empty first, so the store's order is the only
    order in it. Each page goes out in waves (`waves`); a wave is cut into chunks of
    `max_in_flight`, and a chunk is retried until JetStream acknowledged all of it
    before the next starts, so each lane lands in order even if NATS fails midway. If
    no progress is made for `retry_timeout` seconds the refill stops with `RepublishFailed`
    (it is safe to run again). `acknowledged` is called with each chunk's size.
    """
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    if stream is not None:
        if replace_stream:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(EVENTS_STREAM)
        # The configured stream settings, so a production stream keeps its replicas.
        await ensure_streams(js, stream.replicas, stream.max_age_days, (EVENTS_STREAM,))
    done = 0
    async for page in pages:
        for wave in waves(page, lane_depth):
            # Chunks go one after the other, so a lane cut between two stays in order.
            for start in range(0, len(wave), max_in_flight):
                chunk = wave[start : start + max_in_flight]
                await _publish_until_acknowledged(js, chunk, publish_timeout, retry_timeout)
                done += len(chunk)
                if acknowledged is not None:
                    acknowledged(len(chunk))
    return done


async def _publish_until_acknowledged(
    js: JetStreamContext,
    chunk: Sequence[OutboxRow],
    publish_timeout: float,
    retry_timeout: float,
) -> None:
    remaining = list(chunk)
    last_progress = time.monotonic()
    delay = 0.1
    while True:
        errors = await publish_wave(js, [row.message for row in remaining], publish_timeout)
        first_failures: dict[str, str] = {}
        again: list[OutboxRow] = []
        for row, error in zip(remaining, errors, strict=True):
            # From a lane's first failure on, its rows go again, in order.
            if error is not None and row.lane not in first_failures:
                first_failures[row.lane] = error
            if row.lane in first_failures:
                again.append(row)
        if not again:
            return
        if len(again) < len(remaining):
            last_progress = time.monotonic()
            delay = 0.1
        first = again[0]
        if time.monotonic() - last_progress >= retry_timeout:
            raise RepublishFailed(
                f"JetStream acknowledged none of {len(again)} events for {retry_timeout:g} s "
                f"({first.lane}, event {first.message.msg_id}: {first_failures[first.lane]}); "
                "nothing is lost, run the republish again once NATS is healthy",
                failed=len(again),
            )
        log.warning(
            "republish.publish_failed",
            failed=len(again),
            lane=first.lane,
            event_id=first.message.msg_id,
            error=first_failures[first.lane],
            retry_in=delay,
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
        remaining = again
