"""Recovery when the JetStream stream is lost: publish every stored event again.

The event store is the system of record, so the EVENTS stream can always be rebuilt
from it. Events go out keyset-paginated by (work order, version); within a page they
are published in waves (wave k holds each work order's k-th event), and a wave is
retried until JetStream acknowledged all of it before the next one starts, so each
work order's events land in version order even if NATS fails midway. The contract
promises order per work order only.

`Nats-Msg-Id` is the event id, so events still inside the duplicate window of a
surviving stream are dropped; older ones are stored again and consumers skip them by
event id. A relay publishing a work order's newest event before the republish reached
its older ones would break that order, so on PostgreSQL the republish holds a lock
that every relay round takes shared (`republish_lock`); on SQLite run it with the relay
stopped (or let the relay do it: it repairs a lost stream by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SOURCE, recorded_from_row
from services.dispatch.adapters.jetstream import OutgoingMessage, publish_wave
from shared.envelope import Envelope
from shared.errors import Unavailable
from shared.logging import get_logger
from shared.nats import ensure_streams
from shared.subjects import EVENTS_STREAM, event_subject

log = get_logger(__name__)

DISPATCH_SUBJECTS = ("events.*.*.workorder.>", "events.*.*.project.>")
"""The subjects dispatch publishes on (the other aggregates' events belong to others)."""

_REPUBLISH_LOCK = 0x776F5F72656C6179
"""PostgreSQL advisory lock key ('wo_relay'): held by a republish, taken shared by rounds."""

_RETENTION_MARGIN = timedelta(hours=1)


@contextlib.asynccontextmanager
async def republish_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the republish lock (PostgreSQL; a no-op on SQLite) for the block."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(select(func.pg_advisory_lock(_REPUBLISH_LOCK)))
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(select(func.pg_advisory_unlock(_REPUBLISH_LOCK)))
            await conn.commit()


async def pause_during_republish(conn: AsyncConnection) -> None:
    """Inside a relay round's transaction: wait while a republish holds the lock (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock_shared(_REPUBLISH_LOCK)))


async def published_count(engine: AsyncEngine, events_max_age_days: int = 0) -> int:
    """How many events the outbox says JetStream acknowledged (and still keeps, by its max age)."""
    query = select(func.count()).select_from(t.outbox).where(t.outbox.c.status == "published")
    if events_max_age_days > 0:
        # Events near the end of their age may be gone from the stream already.
        kept_since = datetime.now(UTC) - timedelta(days=events_max_age_days) + _RETENTION_MARGIN
        query = query.where(t.outbox.c.published_at >= kept_since)
    async with engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


class RepublishFailed(Unavailable):
    """JetStream did not acknowledge some events for longer than the republish would wait."""

    code = "republish_failed"
    title = "Republish failed"


async def republish_all(
    engine: AsyncEngine,
    js: JetStreamContext,
    *,
    batch_size: int = 1000,
    max_in_flight: int = 256,
    publish_timeout: float = 5.0,
    retry_timeout: float = 120.0,
    on_progress: Callable[[int, int], None] | None = None,
    stream_replicas: int = 1,
    events_max_age_days: int = 0,
    replace_stream: bool = False,
    locked: bool = False,
) -> int:
    """Publish every event of the store to JetStream again; return how many were published.

    Creates the streams first if they are missing; with `replace_stream`, EVENTS is
    deleted and created empty first, so the store's order is the only order in it.
    Holds `republish_lock` unless the caller does (`locked`). At most `max_in_flight` publishes
    await their acknowledgement at once. An event JetStream does not acknowledge is
    retried with back-off; if no progress is made for `retry_timeout` seconds the
    republish stops with `RepublishFailed` (it is safe to run again). `on_progress`
    is called with (published so far, total) as acknowledgements arrive.
    """
    if batch_size < 1 or max_in_flight < 1:
        raise ValueError("batch_size and max_in_flight must be at least 1")
    async with contextlib.nullcontext() if locked else republish_lock(engine):
        return await _republish(
            engine,
            js,
            batch_size,
            max_in_flight,
            publish_timeout,
            retry_timeout,
            on_progress,
            stream_replicas,
            events_max_age_days,
            replace_stream,
        )


async def _republish(
    engine: AsyncEngine,
    js: JetStreamContext,
    batch_size: int,
    max_in_flight: int,
    publish_timeout: float,
    retry_timeout: float,
    on_progress: Callable[[int, int], None] | None,
    stream_replicas: int,
    events_max_age_days: int,
    replace_stream: bool,
) -> int:
    if replace_stream:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(EVENTS_STREAM)
    # The configured stream settings, so a production stream keeps its replicas.
    await ensure_streams(js, stream_replicas, events_max_age_days, (EVENTS_STREAM,))
    async with engine.connect() as conn:
        total = int(await conn.scalar(select(func.count()).select_from(t.events)) or 0)
    done = 0
    if on_progress is not None:
        on_progress(0, total)

    def acknowledged(count: int) -> None:
        nonlocal done
        done += count
        if on_progress is not None:
            # Events appended during the run are published too; never report past 100 %.
            on_progress(done, max(total, done))

    after: tuple[str, int] | None = None
    while True:
        page = await _page(engine, after, batch_size)
        if not page:
            break
        await _publish_page(js, page, max_in_flight, publish_timeout, retry_timeout, acknowledged)
        last = page[-1]
        after = (last.stream_id, last.version)
    return done


async def _page(engine: AsyncEngine, after: tuple[str, int] | None, limit: int) -> list[_Event]:
    query = select(t.events).order_by(t.events.c.stream_id, t.events.c.version).limit(limit)
    if after is not None:
        # Keyset pagination on the primary key: each page is an index range scan.
        query = query.where(tuple_(t.events.c.stream_id, t.events.c.version) > tuple_(*after))
    # One short read per page: no transaction stays open while we wait for NATS.
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    events = []
    for row in rows:
        recorded = recorded_from_row(row)
        envelope = Envelope.from_recorded(recorded, SOURCE)
        events.append(
            _Event(
                stream_id=recorded.stream_id,
                version=recorded.version,
                message=OutgoingMessage(
                    subject=event_subject(recorded.tenant, recorded.project, recorded.type_name),
                    payload=envelope.to_json(),
                    msg_id=str(recorded.event_id),
                ),
            )
        )
    return events


@dataclass(frozen=True, slots=True)
class _Event:
    stream_id: str
    version: int
    message: OutgoingMessage


async def _publish_page(
    js: JetStreamContext,
    page: Sequence[_Event],
    max_in_flight: int,
    publish_timeout: float,
    retry_timeout: float,
    acknowledged: Callable[[int], None],
) -> None:
    # The page is ordered by (stream, version), so each work order's events are a run.
    streams: list[list[_Event]] = []
    for event in page:
        if streams and streams[-1][0].stream_id == event.stream_id:
            streams[-1].append(event)
        else:
            streams.append([event])
    for k in range(max(len(s) for s in streams)):
        wave = [s[k] for s in streams if len(s) > k]
        # A wave holds one event per work order, so it can be cut into chunks freely.
        for start in range(0, len(wave), max_in_flight):
            chunk = wave[start : start + max_in_flight]
            await _publish_until_acknowledged(js, chunk, publish_timeout, retry_timeout)
            acknowledged(len(chunk))


async def _publish_until_acknowledged(
    js: JetStreamContext, chunk: Sequence[_Event], publish_timeout: float, retry_timeout: float
) -> None:
    remaining = list(chunk)
    last_progress = time.monotonic()
    delay = 0.1
    while True:
        errors = await publish_wave(js, [e.message for e in remaining], publish_timeout)
        failed = [(e, err) for e, err in zip(remaining, errors, strict=True) if err is not None]
        if not failed:
            return
        if len(failed) < len(remaining):
            last_progress = time.monotonic()
            delay = 0.1
        first = failed[0]
        if time.monotonic() - last_progress >= retry_timeout:
            raise RepublishFailed(
                f"JetStream acknowledged none of {len(failed)} events for {retry_timeout:g} s "
                f"(work order {first[0].stream_id} version {first[0].version}: {first[1]}); "
                "nothing is lost, run the republish again once NATS is healthy",
                failed=len(failed),
            )
        log.warning(
            "republish.publish_failed",
            failed=len(failed),
            stream_id=first[0].stream_id,
            version=first[0].version,
            error=first[1],
            retry_in=delay,
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
        remaining = [e for e, _ in failed]
