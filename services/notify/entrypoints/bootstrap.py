"""Wire notify once: database, configuration, channels, consumer, sender and outbox."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters.channels.dev_outbox import DevOutboxChannel, stands_in_for
from services.notify.adapters.channels.email import EmailChannel
from services.notify.adapters.channels.http import HttpLanes
from services.notify.adapters.channels.inbox import InboxBroker, InboxChannel
from services.notify.adapters.channels.robots import DingTalkRobot, FeishuRobot, WeComRobot
from services.notify.adapters.channels.sms import SmsChannel
from services.notify.adapters.channels.webhook import WebhookChannel
from services.notify.adapters.config_file import load_config
from services.notify.adapters.config_store import SqlConfigStore
from services.notify.adapters.dead_letter_retries import SqlDeadLetterRetries
from services.notify.adapters.dispatch_contacts import DispatchContacts, NotifierTokens
from services.notify.adapters.migrate import upgrade
from services.notify.adapters.outbox import SqlNotifyOutbox, outbox_publisher
from services.notify.adapters.sealed import Sealer
from services.notify.adapters.sends import SqlProjectZones, SqlSendLog
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.tracking import SqlTrackingRecorder
from services.notify.domain.config import NotifyConfig
from services.notify.domain.model import ChannelName
from services.notify.service_layer.configuration import LiveConfig, StoredConfig
from services.notify.service_layer.handler import CONSUMED_SUBJECTS, NotifyHandler
from services.notify.service_layer.ports import Channel, ResidentContacts
from services.notify.service_layer.sender import DeliverySender
from services.notify.settings import NotifySettings
from shared.auth import TokenVerifier
from shared.clock import Clock, SystemClock
from shared.consumer import ConsumerSpec, EventConsumer
from shared.database import create_engine
from shared.errors import ConcurrencyConflict
from shared.logging import get_logger
from shared.nats import connect_with_streams
from shared.outbox import OutboxPublisher
from shared.outbox_retention import start_outbox_retention
from shared.runner import Runner
from shared.stream_check import BusState
from shared.subjects import EVENTS_STREAM
from shared.tasks import drain_quietly, woken

log = get_logger(__name__)


@dataclass
class Notify:
    """The running parts of one notify process."""

    settings: NotifySettings
    clock: Clock
    engine: AsyncEngine
    dead_letters: SqlDeadLetterRetries
    config: LiveConfig
    handler: NotifyHandler
    sender: DeliverySender
    broker: InboxBroker
    verifier: TokenVerifier
    http: HttpLanes
    dispatch_client: httpx.AsyncClient
    """notify's client of dispatch (residents' contacts at send time)."""
    sender_wake: asyncio.Event = field(default_factory=asyncio.Event)
    nats: Client | None = None
    outbox: OutboxPublisher | None = None
    consumer: EventConsumer | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    runner: Runner = field(default_factory=Runner)
    """The background loops (sender, bus consumer, outbox), restarted if they fail."""
    bus: BusState = field(default_factory=BusState)
    """Whether EVENTS holds notify's published events (shown on `/readyz`)."""

    @property
    def nats_connected(self) -> bool:
        """Whether the bus is reachable right now."""
        return self.nats is not None and self.nats.is_connected

    def wake_sender(self) -> None:
        """Look for due deliveries now."""
        self.sender_wake.set()

    def wake_outbox(self) -> None:
        """Publish notify's events now."""
        if self.outbox is not None:
            self.outbox.wake()


def channels(
    settings: NotifySettings,
    engine: AsyncEngine,
    http: HttpLanes,
    clock: Clock,
    broker: InboxBroker,
) -> dict[ChannelName, Channel]:
    """Every channel this process can send on: e-mail and SMS when configured, else (in
    development only) the development outbox in their place."""
    available: dict[ChannelName, Channel] = {
        ChannelName.INBOX: InboxChannel(engine, clock, broker),
        ChannelName.WEBHOOK: WebhookChannel(http),
        ChannelName.WECOM: WeComRobot(http),
        ChannelName.DINGTALK: DingTalkRobot(http),
        ChannelName.FEISHU: FeishuRobot(http),
    }
    if settings.smtp_host:
        available[ChannelName.EMAIL] = EmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_start_tls,
            timeout=settings.http_timeout_seconds,
        )
    if settings.sms_endpoint and settings.sms_api_key:
        available[ChannelName.SMS] = SmsChannel(
            http,
            settings.sms_endpoint,
            settings.sms_api_key.get_secret_value(),
            settings.sms_template_id,
        )
    for name in stands_in_for(settings.environment, available):
        available[name] = DevOutboxChannel(engine, clock, name)
    return available


def resident_contacts(
    settings: NotifySettings, client: httpx.AsyncClient
) -> ResidentContacts | None:
    """Where an SMS to a resident gets their phone: dispatch, when `DISPATCH_URL` is set."""
    if not settings.dispatch_url:
        return None
    minting = settings.jwt_secret is not None and not settings.jwt_jwks_url
    configured = settings.notify_dispatch_token
    tokens = NotifierTokens(
        secret=settings.jwt_secret.get_secret_value() if minting and settings.jwt_secret else None,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        # dispatch checks a token's times against its wall clock, whatever clock runs here.
        now=SystemClock().now,
        configured=configured.get_secret_value() if configured else None,
    )
    return DispatchContacts(client, settings.dispatch_url, tokens)


def consumer_spec(settings: NotifySettings) -> ConsumerSpec:
    """The durable consumer notify reads the EVENTS stream with."""
    return ConsumerSpec(
        durable=settings.consumer_durable,
        filter_subjects=CONSUMED_SUBJECTS,
        max_deliver=settings.consumer_max_deliver,
        batch_size=settings.consumer_batch_size,
        ack_wait_seconds=settings.consumer_ack_wait_seconds,
        backoff_seconds=settings.consumer_backoff_seconds,
        wait_seconds=settings.consumer_wait_seconds,
        max_waits=settings.consumer_max_waits,
    )


async def start(
    settings: NotifySettings,
    clock: Clock | None = None,
    *,
    background: bool = True,
    dispatch_transport: httpx.AsyncBaseTransport | None = None,
) -> Notify:
    """Open the database (migrated), load the configuration and start the loops.

    `dispatch_transport` stands in for the network to dispatch (tests)."""
    clock = clock or SystemClock()
    sealer = Sealer(settings.secrets_key())  # refused before anything is opened
    file_config = load_config(settings.notify_config_file) if settings.notify_config_file else None
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    await upgrade(engine)
    config_store = SqlConfigStore(engine, clock.now, sealer)
    if file_config is not None:
        stored = await _import_file(config_store, file_config, settings)
    else:
        stored = await config_store.load()
    config = LiveConfig(config_store, stored)
    renderer = TemplateRenderer(settings.notify_templates_dir)
    broker = InboxBroker()
    # Keep a connection per concurrent send alive (re-opening them was a visible share of
    # the sender's CPU), in small pools (one large pool's bookkeeping was the larger one).
    http = HttpLanes(settings.sender_concurrency, settings.http_timeout_seconds)
    verifier = settings.token_verifier()
    dispatch_client = httpx.AsyncClient(
        timeout=settings.dispatch_timeout_seconds, trust_env=False, transport=dispatch_transport
    )
    holder: list[Notify] = []
    available = channels(settings, engine, http, clock, broker)
    handler = NotifyHandler(
        SqlTrackingRecorder(engine, clock),
        config,
        renderer,
        clock,
        on_commit=lambda: holder[0].wake_sender(),
        channels=frozenset(available),
        consumer=settings.consumer_durable,
        # Optional until notify must hold PRIVACY_MASTER_KEY (docs/privacy.md): without a
        # usable key, reports recorded before references keep their residents' old keys.
        reference_key=(
            settings.privacy_keys().resident_reference
            if settings.privacy_problem() is None
            else None
        ),
    )
    sender = DeliverySender(
        SqlSendLog(engine),
        SqlProjectZones(engine),
        config,
        available,
        renderer,
        clock,
        contacts=resident_contacts(settings, dispatch_client),
        batch_size=settings.sender_batch_size,
        concurrency=settings.sender_concurrency,
        lease_seconds=settings.sender_lease_seconds,
        send_timeout_seconds=settings.send_timeout_seconds,
        round_seconds=settings.sender_round_seconds,
        on_commit=lambda: holder[0].wake_outbox(),
    )
    notify = Notify(
        settings,
        clock,
        engine,
        SqlDeadLetterRetries(engine),
        config,
        handler,
        sender,
        broker,
        verifier,
        http,
        dispatch_client,
    )
    holder.append(notify)
    if background:
        notify.runner.start("notify-config", lambda: _refresh_config(notify))
        notify.runner.start("notify-sender", lambda: _run_sender(notify))
        notify.runner.start("notify-bus", lambda: _run_bus(notify))
        start_outbox_retention(notify.runner, SqlNotifyOutbox(engine), notify.clock, settings)
    return notify


async def _import_file(
    config_store: SqlConfigStore, config: NotifyConfig, settings: NotifySettings
) -> StoredConfig:
    """Seed the database from the file; the configuration it then holds (read once)."""
    # The database is the configuration; the file only seeds tenants it does not hold,
    # so edits made through the API survive a restart.
    try:
        written = await config_store.import_config(config, replace=False, by="NOTIFY_CONFIG_FILE")
    except ConcurrencyConflict:
        written = []  # another notify process imported the same file at the same moment
    stored = await config_store.load()
    differing = sorted(
        tenant
        for tenant, tenant_config in config.tenants.items()
        if tenant not in written and stored.config.tenant(tenant) != tenant_config
    )
    log.info("notify.config_imported", file=str(settings.notify_config_file), rows=written)
    if differing:
        log.warning(
            "notify.config_file_not_applied",
            tenants=differing,
            hint="the database holds their configuration; `wo notify config import --replace`",
        )
    return stored


async def _refresh_config(notify: Notify) -> None:
    while not notify.stop_event.is_set():
        await woken(notify.stop_event, notify.settings.config_refresh_seconds)
        if not notify.stop_event.is_set():
            await notify.config.refresh()


async def _run_sender(notify: Notify) -> None:
    settings = notify.settings
    while not notify.stop_event.is_set():
        # Cleared before looking, not after: a delivery committed while this round ran
        # wakes the next wait at once instead of being found only at the next poll.
        notify.sender_wake.clear()
        try:
            sent = await notify.sender.run_once()
        except Exception as exc:
            log.warning("notify.sender_error", error=repr(exc))
            sent = 0
        if sent >= settings.sender_batch_size or notify.sender.busy:
            continue
        await woken(notify.sender_wake, settings.sender_poll_seconds)


async def _run_bus(notify: Notify) -> None:
    # notify starts and serves its API while NATS is down; the bus is joined when it answers.
    # Restarted by the runner after a failure: the connection (which reconnects by itself),
    # the inbox broker's subscription, the outbox and the consumer are made once.
    if notify.consumer is None:
        settings = notify.settings
        notify.nats = notify.nats or await connect_with_streams(
            settings.nats_url,
            settings.service_name,
            settings.nats_stream_replicas,
            settings.events_max_age_days,
            # dispatch creates EVENTS; a stream made here would look complete and be empty.
            waits_for=(EVENTS_STREAM,),
        )
        await notify.broker.attach(notify.nats)
        js = notify.nats.jetstream()
        notify.outbox = outbox_publisher(
            notify.engine,
            js,
            notify.clock,
            bus=notify.bus,
            events_max_age_days=settings.events_max_age_days,
        )
        notify.consumer = EventConsumer(js, consumer_spec(settings), notify.handler)
    if notify.outbox is not None and not notify.runner.running("notify-outbox"):
        notify.runner.start("notify-outbox", notify.outbox.run)
    await notify.consumer.run(notify.stop_event)


async def stop(notify: Notify) -> None:
    """Stop the loops, flush NATS and close the database and HTTP client."""
    notify.stop_event.set()
    await notify.runner.stop()
    await notify.sender.close()
    await notify.http.aclose()
    await notify.dispatch_client.aclose()
    await drain_quietly(notify.nats)
    await notify.engine.dispose()
