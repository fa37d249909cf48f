"""notify's tracking recorder keeps the contract: on SQLite and PostgreSQL, and in memory
(the fake the handler's service-layer tests run on)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from services.notify.adapters import tables as t
from services.notify.adapters.memory_batch import InMemoryNotifyRecorder, in_memory_recorder
from services.notify.adapters.migrate import upgrade
from services.notify.adapters.tracking import SqlTrackingRecorder
from services.notify.service_layer.ports import NewDeadLetter, NotifyBatch
from shared.clock import ManualClock
from shared.database import create_engine
from tests.integration.tracking_contract import TrackingRecorderContract
from tests.unit.notify.builders import T0

_TENANT = "contract"


def _register(marker: str, batch: NotifyBatch) -> str:
    batch.save_project(_TENANT, marker, f"project {marker}", "Asia/Shanghai")
    return marker


def _registered(marker: str, batch: NotifyBatch) -> bool:
    return (_TENANT, marker) in batch.project_time_zones({(_TENANT, marker)})


class TestSqlTrackingRecorder(TrackingRecorderContract[NotifyBatch, NewDeadLetter]):
    @pytest.fixture
    async def recorder(self, database_url: str) -> AsyncIterator[SqlTrackingRecorder]:
        engine = create_engine(database_url)
        await upgrade(engine)
        yield SqlTrackingRecorder(engine, ManualClock(T0))
        await engine.dispose()

    def write(self, marker: str) -> Callable[[NotifyBatch], str]:
        return partial(_register, marker)

    def written(self, marker: str) -> Callable[[NotifyBatch], bool]:
        return partial(_registered, marker)

    def letter(self, key: str) -> NewDeadLetter:
        return NewDeadLetter(
            key=key, kind="event", error="invalid event data", attempts=1, at=T0, tenant=_TENANT
        )


class TestInMemoryNotifyRecorder(TestSqlTrackingRecorder):
    @pytest.fixture
    def recorder(self) -> InMemoryNotifyRecorder:
        return in_memory_recorder()


async def test_the_migration_creates_the_position_table_the_recorder_writes(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)

    def columns(conn: Connection) -> set[str]:
        return {c["name"] for c in inspect(conn).get_columns(t.tracking.name)}

    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(columns) == {c.name for c in t.tracking.columns}
    finally:
        await engine.dispose()
