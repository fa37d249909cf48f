"""reporting's read model keeps the tracking recorder's contract: on SQLite and PostgreSQL,
and in memory (the fake the projector's service-layer tests run on)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from services.reporting.adapters.memory_read_model import InMemoryReadModelStore
from services.reporting.adapters.store import ReadModelStore
from services.reporting.service_layer.ports import DeadLetterRecord, ReadModelBatch
from services.reporting.service_layer.projection import Waiting, fold_batch
from tests.integration.tracking_contract import TrackingRecorderContract


def _fold_marker(marker: str, batch: ReadModelBatch) -> str:
    # A skipped place moves the marker's stream to 1: the projector's own fold writes it.
    fold_batch(batch, [Waiting(marker, 1, None)])
    return marker


def _has_marker(marker: str, batch: ReadModelBatch) -> bool:
    return batch.load({marker}).positions.get(marker, 0) == 1


class TestReadModelStore(TrackingRecorderContract[ReadModelBatch, DeadLetterRecord]):
    @pytest.fixture
    def recorder(self, store: ReadModelStore) -> ReadModelStore:
        return store

    def write(self, marker: str) -> Callable[[ReadModelBatch], str]:
        return partial(_fold_marker, marker)

    def written(self, marker: str) -> Callable[[ReadModelBatch], bool]:
        return partial(_has_marker, marker)

    def letter(self, key: str) -> DeadLetterRecord:
        return DeadLetterRecord(
            key=key,
            tenant="acme",
            project="p1",
            subject="events.acme.p1.workorder.reported",
            stream_sequence=1,
            event_id=key.removeprefix("event:"),
            stream_id=None,
            sequence=None,
            error="invalid event data",
            num_delivered=1,
            data=b"{}",
            skipped=False,
        )


class TestInMemoryReadModelStore(TestReadModelStore):
    @pytest.fixture
    def recorder(self) -> InMemoryReadModelStore:
        return InMemoryReadModelStore()
