"""Wire dispatch once: engine, migrations, event store, project and staff directories, NATS,
relay, the scheduler of SLA and offer timers and the residents' index."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.access_log import SqlAccessLog
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.idempotency_retention import SqlIdempotencyKeys
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.notify_messages import NotifyMessages
from services.dispatch.adapters.outbox import SqlOutbox
from services.dispatch.adapters.public_holidays import SqlPublicHolidays
from services.dispatch.adapters.queries import SqlProjectDirectory
from services.dispatch.adapters.relay import OutboxRelay
from services.dispatch.adapters.resident_index import SqlResidentIndex
from services.dispatch.adapters.resident_keys import SqlKeyRing
from services.dispatch.adapters.resident_orders import SqlResidentOrders
from services.dispatch.adapters.sla_policies import SqlSlaPolicies
from services.dispatch.adapters.sla_scheduler import SlaScheduler
from services.dispatch.adapters.staff_directory import SqlStaffDirectory
from services.dispatch.service_layer.access_log import AccessLog
from services.dispatch.service_layer.personal_data import Privacy
from services.dispatch.service_layer.resident_erasure import ResidentData
from services.dispatch.service_layer.resident_export import ResidentMessages
from services.dispatch.service_layer.resident_retention import (
    ResidentRetention,
    run_resident_retention,
)
from services.dispatch.service_layer.sla import DefaultSlaPolicies, SlaPolicies
from services.dispatch.settings import DispatchSettings
from shared.auth import TokenVerifier
from shared.clock import Clock, SystemClock
from shared.database import create_engine
from shared.nats import connect_with_streams
from shared.outbox_retention import start_outbox_retention
from shared.privacy.fields import PersonalFields
from shared.retention import Retention, run_retention
from shared.runner import Runner
from shared.stream_check import BusState
from shared.subjects import EVENTS_STREAM
from shared.tasks import drain_quietly


@dataclass
class Dispatch:
    """The running parts of one dispatch process."""

    settings: DispatchSettings
    clock: Clock
    engine: AsyncEngine
    store: SqlEventStore
    projects: SqlProjectDirectory
    verifier: TokenVerifier
    staff: SqlStaffDirectory
    residents: SqlResidentIndex
    """The residents' blind index (`GET /v1/residents`)."""
    access_log: AccessLog
    """Where every clear view of a resident's personal data is written before it is shown."""
    privacy: Privacy
    """What reports are sealed with and answers opened with: one `PersonalFields` over
    the key ring (`resident_keys`), and the keys derived from `PRIVACY_MASTER_KEY`."""
    resident_data: ResidentData
    """A resident's data by reference: erasure, correction, export, retention."""
    resident_messages: ResidentMessages
    """The messages notify sent to a resident (for an export)."""
    resident_retention: ResidentRetention
    """How long residents' data is kept after their orders ended."""
    http: httpx.AsyncClient | None = None
    """The client calling notify (closed at stop)."""
    sla_policies: SlaPolicies = field(default_factory=DefaultSlaPolicies)
    public_holidays: SqlPublicHolidays | None = None
    """The loaded public-holiday schedules the SLA calendars follow (`sla_policies` reads them)."""
    nats: Client | None = None
    relay: OutboxRelay | None = None
    scheduler: SlaScheduler | None = None
    runner: Runner = field(default_factory=Runner)
    """The background loops (relay, SLA scheduler, residents' index), restarted if they fail."""
    bus: BusState = field(default_factory=BusState)
    """Whether EVENTS holds what was published (shown on `/readyz`)."""

    @property
    def nats_connected(self) -> bool:
        """Whether the bus is reachable right now."""
        return self.nats is not None and self.nats.is_connected


async def start(settings: DispatchSettings, clock: Clock | None = None) -> Dispatch:
    """Open the database (migrating it if configured) and start the relay in the background."""
    clock = clock or SystemClock()
    # Refused (no usable PRIVACY_MASTER_KEY) before anything is opened.
    settings.privacy_keys()
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    if settings.migrate_on_start:
        await upgrade(engine)
    store = SqlEventStore(engine, max_group=settings.group_commit_max_batch, clock=clock.now)
    verifier = settings.token_verifier()
    holidays = SqlPublicHolidays(engine, clock=clock.now)
    http = httpx.AsyncClient(timeout=settings.notify_timeout_seconds)
    privacy = privacy_of(engine, settings, clock)
    projects = SqlProjectDirectory(engine)
    dispatch = Dispatch(
        settings,
        clock,
        engine,
        store,
        projects,
        verifier,
        SqlStaffDirectory(engine, clock.now, cache_seconds=settings.staff_cache_seconds),
        SqlResidentIndex(engine, privacy),
        SqlAccessLog(engine),
        privacy,
        # One `PersonalFields` for sealing, opening and erasing: an erasure empties the
        # key cache the answers open with.
        ResidentData(store, SqlResidentOrders(engine), privacy.fields),
        NotifyMessages(http, settings.notify_url),
        ResidentRetention(
            days=settings.personal_data_retention_days,
            every_seconds=settings.personal_data_retention_check_seconds,
        ),
        http=http,
        sla_policies=SqlSlaPolicies(engine, clock=clock.now, projects=projects, holidays=holidays),
        public_holidays=holidays,
    )
    if settings.relay_enabled:
        dispatch.runner.start("outbox-relay", lambda: _run_relay(dispatch))
        start_outbox_retention(dispatch.runner, SqlOutbox(engine), clock, settings)
    retention = Retention(
        days=settings.personal_data_access_log_retention_days,
        every_seconds=settings.personal_data_access_log_prune_seconds,
    )
    dispatch.runner.start(
        "access-log-retention",
        lambda: run_retention(dispatch.access_log, clock, retention, "access_log"),
    )
    keys = Retention(
        days=settings.idempotency_key_days, every_seconds=settings.idempotency_key_prune_seconds
    )
    dispatch.runner.start(
        "idempotency-key-retention",
        lambda: run_retention(SqlIdempotencyKeys(engine), clock, keys, "idempotency_keys"),
    )
    dispatch.runner.start(
        "resident-retention",
        lambda: run_resident_retention(dispatch.resident_data, clock, dispatch.resident_retention),
    )
    if settings.sla_scheduler_enabled:
        scheduler = SlaScheduler(
            engine, store, dispatch.sla_policies, clock, staff=dispatch.staff, duty=dispatch.staff
        )
        store.on_timers(scheduler.timers_written)
        dispatch.scheduler = scheduler
        dispatch.runner.start("sla-scheduler", scheduler.run)
    return dispatch


def privacy_of(engine: AsyncEngine, settings: DispatchSettings, clock: Clock) -> Privacy:
    """Dispatch's one `PersonalFields` over its key ring, with the keys derived from
    `PRIVACY_MASTER_KEY` (refused, `ValueError`, when it may not be used here)."""
    keys = settings.privacy_keys()
    ring = SqlKeyRing(engine, settings.key_wrapper(), clock=clock.now)
    return Privacy(PersonalFields(ring), keys.resident_reference, keys.blind_index)


async def _run_relay(dispatch: Dispatch) -> None:
    # The API takes commands while NATS is down (the outbox keeps them), so the first
    # connection is retried in the background instead of failing the start.
    # Restarted by the runner after a failure: the connection (which reconnects by itself)
    # and the relay are made once and reused.
    if dispatch.relay is not None:
        await dispatch.relay.run()
        return
    settings = dispatch.settings
    dispatch.nats = dispatch.nats or await connect_with_streams(
        settings.nats_url,
        f"{settings.service_name}-relay",
        settings.nats_stream_replicas,
        settings.events_max_age_days,
        # dispatch alone creates EVENTS: it alone can fill it from its store.
        owns=(EVENTS_STREAM,),
    )
    relay = OutboxRelay(
        dispatch.engine,
        dispatch.nats.jetstream(),
        batch_size=settings.relay_batch_size,
        poll_interval=settings.relay_poll_seconds,
        publish_timeout=settings.relay_publish_timeout_seconds,
        clock=dispatch.clock,
        stream_replicas=settings.nats_stream_replicas,
        events_max_age_days=settings.events_max_age_days,
        bus=dispatch.bus,
        stream_check_seconds=settings.relay_stream_check_seconds,
        stream_count_seconds=settings.relay_stream_count_seconds,
    )
    dispatch.relay = relay
    dispatch.store.on_commit(relay.wake)
    await relay.run()


async def stop(dispatch: Dispatch) -> None:
    """Stop background work, flush NATS and close the database."""
    await dispatch.runner.stop()
    await dispatch.store.close()
    await dispatch.access_log.close()
    await dispatch.privacy.fields.close()
    dispatch.staff.close()
    if dispatch.http is not None:
        await dispatch.http.aclose()
    await drain_quietly(dispatch.nats)
    await dispatch.engine.dispose()
