"""The group commit reports each group's size and wall time on `/metrics`, once a group."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.service_layer.ports import AppendBatch, NewEvent
from shared.events.recorded import EventMetadata

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
BURST = 40


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def report(number: int) -> AppendBatch:
    event = NewEvent(uuid.uuid4(), "workorder.reported", 1, T0, {"description": f"leak {number}"})
    actor = EventMetadata(actor="cs-1", correlation_id=f"burst-{number}")
    return AppendBatch(f"wo-{number}", 0, "acme", "sunny", (event,), actor)


async def test_every_group_is_timed_once_with_its_size(store: SqlEventStore) -> None:
    groups = sample("dispatch_group_commit_size_count")
    appends = sample("dispatch_group_commit_size_sum")
    timed = sample("dispatch_group_commit_seconds_count")
    seconds = sample("dispatch_group_commit_seconds_sum")

    await asyncio.gather(*(store.append(report(n)) for n in range(BURST)))

    new_groups = sample("dispatch_group_commit_size_count") - groups
    assert sample("dispatch_group_commit_size_sum") - appends == BURST
    assert 1 <= new_groups < BURST  # a burst commits in groups, not one by one
    assert sample("dispatch_group_commit_seconds_count") - timed == new_groups
    assert sample("dispatch_group_commit_seconds_sum") > seconds
