"""Wire reporting once: database (migrated), read model, NATS, projector and KPI publisher."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from nats.aio.client import Client

from services.reporting.adapters.kpi_stream import KpiPublisher
from services.reporting.adapters.migrate import upgrade
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.projector import Projector
from services.reporting.settings import ReportingSettings
from shared.auth import TokenVerifier
from shared.clock import Clock, SystemClock
from shared.consumer import ConsumerSpec, EventConsumer
from shared.database import Database, create_engine
from shared.nats import connect_with_streams
from shared.runner import Runner
from shared.subjects import EVENTS_STREAM, KPI_STREAM


@dataclass
class Reporting:
    """The running parts of one reporting process."""

    settings: ReportingSettings
    clock: Clock
    database: Database
    store: ReadModelStore
    verifier: TokenVerifier
    nats: Client | None = None
    publisher: KpiPublisher | None = None
    consumer: EventConsumer | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    runner: Runner = field(default_factory=Runner)
    """The background loops (bus consumer, KPI publisher), restarted if they fail."""

    @property
    def nats_connected(self) -> bool:
        """Whether the bus is reachable right now."""
        return self.nats is not None and self.nats.is_connected


def consumer_spec(settings: ReportingSettings) -> ConsumerSpec:
    """The projector's durable consumer on EVENTS."""
    return ConsumerSpec(
        durable=settings.consumer_durable,
        max_deliver=settings.consumer_max_deliver,
        ack_wait_seconds=settings.consumer_ack_wait_seconds,
        batch_size=settings.consumer_batch_size,
    )


async def start(settings: ReportingSettings, clock: Clock | None = None) -> Reporting:
    """Open (and migrate) the database; connect NATS and start the projector in the background."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    if settings.migrate_on_start:
        await upgrade(engine)
    database = Database(engine)
    reporting = Reporting(
        settings, clock, database, ReadModelStore(database, clock), settings.token_verifier()
    )
    reporting.runner.start("reporting-bus", lambda: _run_bus(reporting))
    return reporting


async def _run_bus(reporting: Reporting) -> None:
    # The API serves the read model while NATS is down; the bus is joined in the background.
    # Restarted by the runner after a failure: the connection (which reconnects by itself),
    # the publisher and the consumer are made once.
    settings = reporting.settings
    if reporting.nats is None:
        reporting.nats = await connect_with_streams(
            settings.nats_url,
            settings.service_name,
            settings.nats_stream_replicas,
            settings.events_max_age_days,
            # reporting publishes the KPIs; dispatch creates EVENTS.
            owns=(KPI_STREAM,),
            waits_for=(EVENTS_STREAM,),
        )
    js = reporting.nats.jetstream()
    if settings.kpi_publish_enabled and reporting.publisher is None:
        publisher = reporting.publisher = KpiPublisher(js, reporting.store, reporting.clock)
        reporting.runner.start("kpi-publisher", lambda: publisher.run(reporting.stop_event))
    if settings.projector_enabled:
        if reporting.consumer is None:
            on_change = None if reporting.publisher is None else reporting.publisher.touched
            projector = Projector(reporting.store, on_change, consumer=settings.consumer_durable)
            reporting.consumer = EventConsumer(js, consumer_spec(settings), projector)
        await reporting.consumer.run(reporting.stop_event)
    else:
        # Nothing to consume: the loop has done its work and waits for the stop.
        await reporting.stop_event.wait()


async def stop(reporting: Reporting) -> None:
    """Stop background work, drain NATS and close the database."""
    reporting.stop_event.set()
    await reporting.runner.stop()
    if reporting.nats is not None:
        # Close rather than drain: nothing is buffered (publishes wait for their ack, and
        # unacked events come back to the durable consumer), and draining would wait on
        # the SSE streams' subscriptions.
        with contextlib.suppress(Exception):
            await reporting.nats.close()
    reporting.database.close()
    await reporting.database.engine.dispose()
