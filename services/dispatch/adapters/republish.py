"""Recovery when the JetStream stream is lost: publish every stored event again (the CLI).

The event store is the system of record, so the EVENTS stream can always be rebuilt
from it: `shared.outbox.republish` over the store's pages (`SqlOutbox.everything`),
per work order in version order, each wave acknowledged before the next, retried
until NATS answers. The contract promises order per work order only.

`Nats-Msg-Id` is the event id, so events still inside the duplicate window of a
surviving stream are dropped; older ones are stored again and consumers skip them by
event id. On PostgreSQL the republish holds the lock every relay's claim takes
shared (`republish_lock`); on SQLite run it with the relay stopped (or let the relay
do it: it repairs a lost stream by itself).
"""

from __future__ import annotations

from collections.abc import Callable

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.outbox import SqlOutbox, republish_lock
from shared.outbox import StreamSettings, republish


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
) -> int:
    """Publish every event of the store to JetStream again; return how many were published.

    Creates EVENTS first if it is missing. At most `max_in_flight` publishes await their acknowledgement at once. An event
    JetStream does not acknowledge is retried with back-off; if no progress is made for
    `retry_timeout` seconds the republish stops with `shared.outbox.RepublishFailed` (it
    is safe to run again). `on_progress` is called with (published so far, total) as
    acknowledgements arrive.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    store = SqlOutbox(engine, events_max_age_days)
    async with republish_lock(engine):
        total = await store.event_count()
        done = 0
        if on_progress is not None:
            on_progress(0, total)

        def acknowledged(count: int) -> None:
            nonlocal done
            done += count
            if on_progress is not None:
                # Events appended during the run are published too; never report past 100 %.
                on_progress(done, max(total, done))

        return await republish(
            js,
            store.everything(batch_size),
            stream=StreamSettings(stream_replicas, events_max_age_days),
            max_in_flight=max_in_flight,
            publish_timeout=publish_timeout,
            retry_timeout=retry_timeout,
            acknowledged=acknowledged,
        )
