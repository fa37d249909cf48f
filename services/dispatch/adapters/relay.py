"""The outbox relay: dispatch's committed events to JetStream, per work order in version order.

The relay is the shared outbox publisher (`shared.outbox`) on dispatch's outbox
(`adapters.outbox.SqlOutbox`), with dispatch's metrics. Its lanes are work orders,
one event deep, so no event overtakes an earlier one of its work order. dispatch owns
the EVENTS stream: a lost stream is created (or replaced) and refilled from the event
store before any new event goes out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.outbox import DISPATCH_SUBJECTS, SqlOutbox
from shared.clock import Clock
from shared.outbox import OutboxMetrics, OutboxPublisher, StreamSettings
from shared.stream_check import BusState

METRICS = OutboxMetrics.named(
    "dispatch",
    backlog="dispatch_outbox_backlog",
    published="dispatch_relay_published_total",
    errors="dispatch_relay_publish_errors_total",
    lag="dispatch_relay_lag_seconds",
)


class OutboxRelay(OutboxPublisher):
    """Publishes dispatch's outbox to JetStream until cancelled.

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
        async def marking(msg_ids: Sequence[str]) -> None:
            if before_mark is not None:
                await before_mark([UUID(msg_id) for msg_id in msg_ids])

        super().__init__(
            SqlOutbox(engine, events_max_age_days),
            js,
            name="dispatch",
            subjects=DISPATCH_SUBJECTS,
            metrics=METRICS,
            clock=clock,
            log_name="relay",
            lane_depth=1,
            owns_stream=StreamSettings(stream_replicas, events_max_age_days),
            batch_size=batch_size,
            poll_seconds=poll_interval,
            publish_timeout=publish_timeout,
            max_backoff=max_backoff,
            before_mark=marking if before_mark is not None else None,
            bus=bus,
            stream_check_seconds=stream_check_seconds,
            stream_count_seconds=stream_count_seconds,
        )
