"""Wire reporting once: database (migrated), read model, NATS, projector and KPI publisher."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from dataclasses import dataclass, field

from nats.aio.client import Client

from services.reporting.adapters.kpi_stream import KpiPublisher
from services.reporting.adapters.leases import LeaseFence, SqlLeases
from services.reporting.adapters.migrate import upgrade
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.projector import Projector
from services.reporting.service_layer.standby import ProjectorLease
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
    lease: ProjectorLease | None = None
    """The projector's lease (None with `PROJECTOR_ENABLED=false`): the process holding it
    projects, the others stand by."""
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
    """Open (and migrate) the database; connect NATS and start the projector in the background
    (projecting while this process holds the projector's lease)."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    if settings.migrate_on_start:
        await upgrade(engine)
    database = Database(engine)
    lease: ProjectorLease | None = None
    fence: LeaseFence | None = None
    if settings.projector_enabled:
        lease = ProjectorLease(
            SqlLeases(database),
            settings.consumer_durable,
            _holder(settings),
            clock,
            renew_seconds=settings.projector_lease_renew_seconds,
            expiry_seconds=settings.projector_lease_expiry_seconds,
        )
        fence = LeaseFence(lease.name, lease.holder)
    reporting = Reporting(
        settings,
        clock,
        database,
        ReadModelStore(database, clock, fence),
        settings.token_verifier(),
        lease=lease,
    )
    reporting.runner.start("reporting-bus", lambda: _run_bus(reporting))
    return reporting


def _holder(settings: ReportingSettings) -> str:
    """This process's name as a lease holder: unique even for a process restarted with the
    same instance id, whose predecessor's lease must expire rather than carry over."""
    name = settings.instance_id or f"{socket.gethostname()}:{os.getpid()}"
    return f"{name}:{uuid.uuid4().hex[:8]}"


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
    if reporting.lease is not None:
        if reporting.consumer is None:
            on_change = None if reporting.publisher is None else reporting.publisher.touched
            projector = Projector(reporting.store, on_change, consumer=settings.consumer_durable)
            reporting.consumer = EventConsumer(js, consumer_spec(settings), projector)
        # Only the lease's holder pulls from the durable; a standby pulls nothing.
        await reporting.lease.run(reporting.stop_event, reporting.consumer.run)
    else:
        # Nothing to consume: the loop has done its work and waits for the stop.
        await reporting.stop_event.wait()


async def stop(reporting: Reporting) -> None:
    """Stop background work, drain NATS and close the database."""
    reporting.stop_event.set()
    await reporting.runner.stop()
    if reporting.lease is not None:
        # A standby takes over at once instead of after the lease's expiry.
        with contextlib.suppress(Exception):
            await reporting.lease.release()
    if reporting.nats is not None:
        # Close rather than drain: nothing is buffered (publishes wait for their ack, and
        # unacked events come back to the durable consumer), and draining would wait on
        # the SSE streams' subscriptions.
        with contextlib.suppress(Exception):
            await reporting.nats.close()
    reporting.database.close()
    await reporting.database.engine.dispose()
