"""NATS helpers: one way to connect (reconnecting for ever), to create the streams and to
wait for them.

Each stream has one owner that creates it: dispatch creates `EVENTS` (it alone can refill
it from its store, see `shared.stream_check`), reporting creates `KPI`. Everyone else
waits for the stream to exist instead of creating an empty one that would look healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.logging import get_logger, redact_credentials
from shared.subjects import EVENTS_STREAM, EVENTS_SUBJECTS, KPI_STREAM, KPI_SUBJECTS

log = get_logger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0
"""How long JetStream remembers a Nats-Msg-Id; a republish within it is dropped."""


async def connect(url: str, name: str, **options: Any) -> Client:
    """Connect to NATS and keep reconnecting for as long as the process lives."""

    client: list[Client] = []
    # The URL may carry the service's NATS user and password: never log them.
    shown = redact_credentials(url)

    async def on_disconnect() -> None:
        closing = bool(client) and (client[0].is_closed or client[0].is_draining)
        # A disconnect while we close is the normal end of the connection, not news.
        (log.debug if closing else log.warning)("nats.disconnected", url=shown)

    async def on_reconnect() -> None:
        log.info("nats.reconnected", url=shown)

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", error=redact_credentials(str(exc)))

    settings: dict[str, Any] = {
        "servers": [u.strip() for u in url.split(",")],
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 2,
        "allow_reconnect": True,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
        "error_cb": on_error,
    }
    settings.update(options)
    client.append(await nats.connect(**settings))
    return client[0]


def stream_configs(replicas: int = 1, events_max_age_days: int = 0) -> list[StreamConfig]:
    """The two streams of the contract: EVENTS (kept for years) and KPI (last value per subject)."""
    return [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[EVENTS_SUBJECTS],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_age=events_max_age_days * 86400.0,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            discard=DiscardPolicy.OLD,
        ),
        StreamConfig(
            name=KPI_STREAM,
            subjects=[KPI_SUBJECTS],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_msgs_per_subject=1,
            discard=DiscardPolicy.OLD,
        ),
    ]


async def ensure_streams(
    js: JetStreamContext,
    replicas: int = 1,
    events_max_age_days: int = 0,
    streams: Sequence[str] = (EVENTS_STREAM, KPI_STREAM),
) -> None:
    """Create `streams`, or update them to the configured settings if they exist."""
    for config in stream_configs(replicas, events_max_age_days):
        if config.name not in streams:
            continue
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
            log.info("nats.stream_created", stream=config.name)
        else:
            await js.update_stream(config)


async def connect_with_streams(
    url: str,
    name: str,
    replicas: int = 1,
    events_max_age_days: int = 0,
    *,
    owns: Sequence[str] = (),
    waits_for: Sequence[str] = (),
) -> Client:
    """Connect, create the streams this service `owns` and wait for those it `waits_for`.

    Services serve their API while NATS is down and join the bus in the background, so
    the first connection is retried with back-off for as long as it takes instead of
    failing the start; so is a stream another service has not created yet.
    """
    delay = 0.5
    while True:
        client: Client | None = None
        try:
            client = await connect(url, name=name)
            js = client.jetstream()
            if owns:
                await ensure_streams(js, replicas, events_max_age_days, owns)
            for stream in waits_for:
                await wait_for_stream(js, stream)
            return client
        except BaseException as exc:
            # Not joined, so the connection made so far is closed: also when the service
            # stops while it waits for a stream (a cancelled task), which would otherwise
            # leave a client connected, and reconnecting, in a stopped service.
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()
            if not isinstance(exc, Exception):
                raise
            log.warning(
                "nats.unavailable",
                url=redact_credentials(url),
                error=redact_credentials(str(exc)),
                retry_in=delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def wait_for_stream(js: JetStreamContext, stream: str, max_delay: float = 5.0) -> None:
    """Return once `stream` exists; its owner creates it (say so once, then wait quietly)."""
    delay = 0.2
    said = False
    while True:
        try:
            await js.stream_info(stream)
            return
        except NotFoundError:
            if not said:
                log.info("nats.waiting_for_stream", stream=stream)
                said = True
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
