"""Two reporting processes on one database and one bus: one projects, the other stands by
and takes over once the first's lease expires; the read model ends as the fold of every
event, none applied twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.util import await_only

from services.reporting.adapters import tables as t
from services.reporting.adapters.leases import LeaseFence, LeaseLost, SqlLeases
from services.reporting.adapters.store import ReadModelStore
from services.reporting.domain.lease import Lease
from services.reporting.entrypoints import bootstrap
from services.reporting.entrypoints.bootstrap import Reporting
from services.reporting.service_layer.ports import ReadModelBatch
from services.reporting.service_layer.projector import Projector
from services.reporting.settings import ReportingSettings
from shared.clock import ManualClock
from shared.consumer import Delivery
from shared.database import Database
from shared.envelope import Envelope
from shared.tracking import Tracking
from tests.integration.notify.support import eventually
from tests.integration.reporting.conftest import Bus, wait_for_checkpoint
from tests.integration.reporting.scripted_week import NOW, week
from tests.unit.reporting.histories import TENANT
from tests.unit.reporting.support import oracle_figures, projected_figures
from wo.processes import NatsServer

EXPIRY = 10.0
DURABLE = "reporting"


def deliveries(events: list[dict[str, object]], first: int) -> list[Delivery]:
    parsed = [Envelope.model_validate(raw) for raw in events]
    return [Delivery(e, e.nats_subject(), first + n, 1) for n, e in enumerate(parsed)]


async def test_a_process_that_lost_the_lease_commits_nothing(store: ReadModelStore) -> None:
    clock, database = ManualClock(NOW), store.database
    leases = SqlLeases(database)
    expiry = timedelta(seconds=EXPIRY)
    first = Projector(ReadModelStore(database, clock, LeaseFence(DURABLE, "a")))
    second = Projector(ReadModelStore(database, clock, LeaseFence(DURABLE, "b")))
    events, _ = week()
    half = len(events) // 2

    await leases.claim(DURABLE, "a", clock.now(), expiry)
    await first.handle(deliveries(events[:half], 1))
    # "a" is paused past its lease's expiry; "b" takes the lease over.
    clock.advance(expiry)
    assert (await leases.claim(DURABLE, "b", clock.now(), expiry)).holder == "b"

    with pytest.raises(LeaseLost):
        await first.handle(deliveries(events[half:], half + 1))
    checkpoint = await store.checkpoint(DURABLE)
    assert checkpoint is not None and checkpoint.stream_sequence == half

    await second.handle(deliveries(events[half:], half + 1))
    orders, projects = await store.facts(TENANT)
    assert projected_figures(orders, projects, NOW) == oracle_figures(events, NOW)


async def test_a_standby_taking_the_lease_waits_for_the_batch_being_committed(
    store: ReadModelStore,
) -> None:
    if store.database.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: the claim cannot start before the commit")
    clock, database = ManualClock(NOW), store.database
    leases = SqlLeases(database)
    expiry = timedelta(seconds=EXPIRY)
    fenced = ReadModelStore(database, clock, LeaseFence(DURABLE, "a"))
    await leases.claim(DURABLE, "a", clock.now(), expiry)
    checked, go_on = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    def slow_batch(batch: ReadModelBatch) -> None:
        # Inside the transaction, after its lease check: the batch takes its time.
        checked.set()
        await_only(go_on.wait())
        order.append("a committing")

    committing = asyncio.create_task(fenced.record(Tracking(DURABLE, 5), slow_batch))
    await checked.wait()
    clock.advance(expiry)  # "a"'s lease runs out while its batch is being written

    async def take_over() -> Lease:
        lease = await leases.claim(DURABLE, "b", clock.now(), expiry)
        order.append("b took the lease")
        return lease

    taking = asyncio.create_task(take_over())
    await eventually(lambda: waiting_on_a_lock(database), what="the claim to wait for the batch")
    go_on.set()
    await committing

    assert (await taking).holder == "b"
    assert order == ["a committing", "b took the lease"]
    checkpoint = await store.checkpoint(DURABLE)
    assert checkpoint is not None and checkpoint.stream_sequence == 5


async def waiting_on_a_lock(database: Database) -> bool:
    """Whether a session of this database waits for a lock another one holds."""
    async with database.engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


@contextlib.asynccontextmanager
async def instance(
    database_url: str, nats_url: str, clock: ManualClock
) -> AsyncIterator[Reporting]:
    settings = ReportingSettings(
        environment="development",
        database_url=database_url,
        nats_url=nats_url,
        projector_lease_renew_seconds=0.05,
        projector_lease_expiry_seconds=EXPIRY,
        consumer_ack_wait_seconds=1.0,
    )
    reporting = await bootstrap.start(settings, clock)
    try:
        yield reporting
    finally:
        await bootstrap.stop(reporting)


async def crash(reporting: Reporting) -> None:
    """Stop the process's loops and connections without letting its lease go."""
    await reporting.runner.stop()
    if reporting.nats is not None:
        await reporting.nats.close()


async def holds_lease(reporting: Reporting) -> bool:
    return reporting.lease is not None and reporting.lease.active


async def test_the_standby_takes_over_when_the_projecting_process_dies(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    clock = ManualClock(NOW)
    events, _ = week()
    half = len(events) // 2
    async with contextlib.AsyncExitStack() as running:
        first = await running.enter_async_context(instance(database_url, nats_server.url, clock))
        await eventually(lambda: holds_lease(first), what="the first to take the lease")
        second = await running.enter_async_context(instance(database_url, nats_server.url, clock))
        await wait_for_checkpoint(first.store, DURABLE, await bus.publish(events[:half]))
        assert second.lease is not None and not await second.lease.renew()

        await crash(first)
        last = await bus.publish(events[half:])
        # Its lease runs until it expires: nobody projects meanwhile.
        assert not await second.lease.renew()
        checkpoint = await second.store.checkpoint(DURABLE)
        assert checkpoint is not None and checkpoint.stream_sequence == half

        clock.advance(timedelta(seconds=EXPIRY))
        await eventually(lambda: holds_lease(second), what="the standby to take over")
        await wait_for_checkpoint(second.store, DURABLE, last)

        orders, projects = await second.store.facts(TENANT)
        assert projected_figures(orders, projects, NOW) == oracle_figures(events, NOW)
        async with second.database.engine.connect() as conn:
            applied = await conn.scalar(select(func.sum(t.checkpoints.c.events_applied)))
        assert applied == len(events)  # every event once, none twice
