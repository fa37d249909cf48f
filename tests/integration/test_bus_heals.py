"""The EVENTS stream heals itself: lost while the services restart in any order, or while
they run, it ends complete and in per-work-order order without a manual step.

dispatch and notify run for real (their bootstraps, relay and outbox publisher), each
with its own NATS user; the test deletes the stream and appends new work to both
stores meanwhile.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import APIError, NotFoundError
from sqlalchemy import func, insert, select

from services.dispatch.adapters import tables as dispatch_tables
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.entrypoints import bootstrap as dispatch_bootstrap
from services.dispatch.settings import DispatchSettings
from services.notify.adapters import tables as notify_tables
from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.entrypoints import bootstrap as notify_bootstrap
from services.notify.settings import NotifySettings
from shared.nats import connect
from shared.subjects import EVENTS_STREAM
from tests.conftest import ADMIN, SecuredNats
from tests.integration.dispatch.test_relay import (
    SCOPES,
    append,
    assert_each_event_once_in_version_order,
    stored_event_ids,
)
from tests.integration.notify.support import eventually

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
WORK_ORDERS = 4


@dataclass
class Services:
    """dispatch and notify, started and stopped at will, on their own databases."""

    tmp_path: Path
    nats: SecuredNats
    dispatch_url: str
    notify_url: str
    dispatch: dispatch_bootstrap.Dispatch | None = None
    notify: notify_bootstrap.Notify | None = None
    versions: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(WORK_ORDERS), 0))
    notifications: int = 0

    async def start(self, name: str) -> None:
        if name == "dispatch":
            self.dispatch = await dispatch_bootstrap.start(
                DispatchSettings(
                    environment="development",
                    database_url=self.dispatch_url,
                    nats_url=self.nats.url("dispatch"),
                    sla_scheduler_enabled=False,
                    relay_poll_seconds=0.1,
                    relay_stream_check_seconds=0.1,
                )
            )
        else:
            config = self.tmp_path / "notify.json"
            config.write_text(QUIET.model_dump_json(), encoding="utf-8")
            self.notify = await notify_bootstrap.start(
                NotifySettings(
                    environment="development",
                    database_url=self.notify_url,
                    nats_url=self.nats.url("notify"),
                    notify_config_file=config,
                    sender_poll_seconds=0.1,
                )
            )

    async def stop(self) -> None:
        if self.dispatch is not None:
            await dispatch_bootstrap.stop(self.dispatch)
            self.dispatch = None
        if self.notify is not None:
            await notify_bootstrap.stop(self.notify)
            self.notify = None

    async def new_work(self) -> None:
        """Two events on each work order in dispatch's store, two notify events in its outbox."""
        store = _dispatch_store(self)
        for i in self.versions:
            self.versions[i] = await append(store, i, self.versions[i], count=2)
        for _ in range(2):
            self.notifications += 1
            await _notify_event(self, self.notifications)

    async def bus_holds_everything(self, js: JetStreamContext) -> bool:
        try:
            messages = await _messages(js)
        except APIError:  # the stream is missing or being replaced right now
            return False
        dispatch_ids = {_msg_id(m) for m in messages if not _is_notification(m)}
        notify_ids = {_msg_id(m) for m in messages if _is_notification(m)}
        return (
            len(dispatch_ids) == sum(self.versions.values())
            and len(notify_ids) == self.notifications
        )


# notify tells nobody of the progress events dispatch publishes here, so the only
# notification events are the outbox rows this test writes.
QUIET = NotifyConfig(
    tenants={
        tenant: TenantConfig(routes={"workorder.progress_reported": ()})
        for tenant in {tenant for tenant, _ in SCOPES}
    }
)


def _dispatch_store(services: Services) -> SqlEventStore:
    assert services.dispatch is not None, "dispatch is up while work is added"
    return services.dispatch.store


async def _notify_event(services: Services, n: int) -> None:
    assert services.notify is not None, "notify is up while work is added"
    async with services.notify.engine.begin() as conn:
        await conn.execute(
            insert(notify_tables.outbox).values(
                subject="events.acme.sunny.notification.sent",
                msg_id=str(uuid.uuid4()),
                body=f'{{"notification":{n}}}'.encode(),
                created_at=T0,
            )
        )
    services.notify.wake_outbox()


async def _messages(js: JetStreamContext) -> list[RawStreamMsg]:
    state = (await js.stream_info(EVENTS_STREAM)).state
    found = []
    for seq in range(state.first_seq, state.last_seq + 1):
        try:
            found.append(await js.get_msg(EVENTS_STREAM, seq))
        except NotFoundError:
            continue
    return found


def _is_notification(message: RawStreamMsg) -> bool:
    return ".notification." in (message.subject or "")


def _msg_id(message: RawStreamMsg) -> str | None:
    return (message.headers or {}).get("Nats-Msg-Id")


@pytest.fixture
async def services(
    tmp_path: Path, secured_nats: SecuredNats, database_url: str
) -> AsyncIterator[Services]:
    # Each service with its own NATS user: its permissions are enough for all of this.
    running = Services(
        tmp_path, secured_nats, database_url, f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}"
    )
    yield running
    await running.stop()


@pytest.fixture
async def observer(secured_nats: SecuredNats) -> AsyncIterator[Client]:
    nc = await connect(secured_nats.url(ADMIN), "test-observer")
    yield nc
    await nc.close()


async def assert_complete_and_in_order(services: Services, js: JetStreamContext) -> None:
    async def everything() -> bool:
        return await services.bus_holds_everything(js)

    await eventually(everything, within=60.0)
    messages = await _messages(js)
    assert services.dispatch is not None
    assert_each_event_once_in_version_order(
        [m for m in messages if not _is_notification(m)],
        await stored_event_ids(services.dispatch.engine),
    )
    # notify's events: each of its outbox once, in outbox order.
    notifications = [m.data for m in messages if _is_notification(m)]
    expected = [f'{{"notification":{n}}}'.encode() for n in range(1, services.notifications + 1)]
    assert notifications == expected
    assert services.notify is not None
    async with services.notify.engine.connect() as conn:
        pending = await conn.scalar(
            select(func.count())
            .select_from(notify_tables.outbox)
            .where(notify_tables.outbox.c.published_at.is_(None))
        )
    assert pending == 0
    async with services.dispatch.engine.connect() as conn:
        pending = await conn.scalar(
            select(func.count())
            .select_from(dispatch_tables.outbox)
            .where(dispatch_tables.outbox.c.status == "pending")
        )
    assert pending == 0


@pytest.mark.parametrize("order", [("dispatch", "notify"), ("notify", "dispatch")])
async def test_a_stream_lost_while_the_services_restart_comes_back_complete_and_in_order(
    services: Services, observer: Client, order: tuple[str, str]
) -> None:
    js = observer.jetstream()
    await services.start("dispatch")
    await services.start("notify")
    await services.new_work()
    await assert_complete_and_in_order(services, js)
    await services.stop()

    await js.delete_stream(EVENTS_STREAM)
    first, second = order
    await services.start(first)
    # Time for the first to join the bus (and, before the fix, create an empty stream).
    await asyncio.sleep(1.0)
    await services.start(second)
    await services.new_work()

    await assert_complete_and_in_order(services, js)
    assert services.dispatch is not None
    assert services.dispatch.bus.stream == "complete"
    assert services.dispatch.bus.losses == 1
    assert services.dispatch.bus.last_loss is not None


async def test_a_stream_lost_while_the_services_run_comes_back_complete_and_in_order(
    services: Services, observer: Client
) -> None:
    js = observer.jetstream()
    await services.start("dispatch")
    await services.start("notify")
    await services.new_work()
    await assert_complete_and_in_order(services, js)

    await js.delete_stream(EVENTS_STREAM)
    await services.new_work()

    await assert_complete_and_in_order(services, js)
    assert services.notify is not None
    assert services.notify.bus.losses >= 1
