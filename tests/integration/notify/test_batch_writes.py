"""A batch of events, and a round of sends, is written in a few statements whatever its size.

On SQLite every statement is a hop to the database thread and back through the event
loop, and each hop waits its turn behind the sends in flight: written row by row, a batch
held the write lock for as long as its hops took, and notify fell behind under load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.sends import SqlProjectZones, SqlSendLog
from services.notify.adapters.store import SqlStore
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.tracking import SqlTrackingRecorder
from services.notify.domain.config import NotifyConfig, RouteTarget, TenantConfig
from services.notify.domain.model import DeliveryStatus
from services.notify.service_layer.handler import NotifyHandler
from services.notify.service_layer.sender import DeliverySender
from shared.clock import ManualClock
from shared.consumer import Delivery
from tests.integration.notify.conftest import webhook_contact
from tests.unit.notify.builders import T0, TENANT, envelope, reported

CONFIG = NotifyConfig(
    tenants={
        TENANT: TenantConfig(
            contacts={"cs-li": webhook_contact("李客服", "http://127.0.0.1:9/hook", "whsec_eA==")},
            routes={
                "workorder.reported": (RouteTarget(recipient="owner", template="reported_owner"),)
            },
        )
    }
)


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def reports(count: int, first: int = 0) -> list[Delivery]:
    return [
        Delivery(envelope(reported(), 1, work_order_id=f"wo-{n}"), "events.x", n + 1, 1)
        for n in range(first, first + count)
    ]


async def test_a_batch_of_reports_is_planned_in_the_same_statements_as_one(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock(T0)
    handler = NotifyHandler(SqlTrackingRecorder(engine, clock), CONFIG, TemplateRenderer(), clock)
    await handler.handle(reports(1))  # warms the statement caches

    with statements(engine) as one:
        await handler.handle(reports(1, first=1))
    with statements(engine) as fifty:
        await handler.handle(reports(50, first=2))

    assert len(fifty) == len(one)
    async with engine.connect() as conn:
        planned = (await conn.execute(select(t.deliveries.c.work_order_id))).scalars().all()
    assert sorted(planned) == sorted(f"wo-{n}" for n in range(52))


async def test_a_redelivered_batch_plans_nothing_twice(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    handler = NotifyHandler(SqlTrackingRecorder(engine, clock), CONFIG, TemplateRenderer(), clock)
    batch = reports(20)

    await handler.handle(batch)
    await handler.handle(batch)

    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.deliveries.c.dedup_key))).scalars().all()
    assert len(rows) == len(set(rows)) == 20


async def test_a_rounds_outcomes_are_recorded_in_the_same_statements_as_one(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock(T0)
    recorder = SqlTrackingRecorder(engine, clock)
    await NotifyHandler(recorder, CONFIG, TemplateRenderer(), clock).handle(reports(51))
    sends = SqlSendLog(engine)
    due = await sends.claim_due(T0, 100, 60.0)
    sender = DeliverySender(sends, SqlProjectZones(engine), CONFIG, {}, TemplateRenderer(), clock)

    with statements(engine) as one:
        await sender.record([(d, None) for d in due[:1]])
    with statements(engine) as fifty:
        await sender.record([(d, None) for d in due[1:]])

    assert len(fifty) == len(one)
    async with engine.connect() as conn:
        sent = (
            (
                await conn.execute(
                    select(t.deliveries.c.status).where(
                        t.deliveries.c.status == str(DeliveryStatus.SENT)
                    )
                )
            )
            .scalars()
            .all()
        )
        outbox = (await conn.execute(select(t.outbox.c.id))).scalars().all()
    assert (len(sent), len(outbox)) == (51, 51)


async def test_a_transaction_holds_sqlites_writer_lock_from_its_start(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's writer lock")
    with statements(engine) as seen:
        async with SqlStore(engine).transaction() as tx:
            await tx.connection.execute(select(t.deliveries.c.id))

    # A deferred transaction that reads and then writes cannot wait for the lock.
    assert seen[0] == "BEGIN IMMEDIATE"
