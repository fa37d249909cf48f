"""Rows of dispatch's tables built from recorded events and records, and back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.dispatch.service_layer.context import Effect
from services.dispatch.service_layer.ports import IdempotencyRecord, TimerRow
from shared.envelope import envelope_json
from shared.events.catalogue import upcast
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.subjects import event_subject

SOURCE = "/dispatch"
"""CloudEvents `source` of everything dispatch publishes."""


def event_rows(events: Sequence[RecordedEvent]) -> list[dict[str, Any]]:
    """The `events` rows of recorded events.

    An append's events share one metadata object: it is serialized once for all of them.
    """
    dumped: dict[int, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for event in events:
        metadata = dumped.get(id(event.metadata))
        if metadata is None:
            metadata = dumped[id(event.metadata)] = event.metadata.model_dump(mode="json")
        rows.append(
            {
                "stream_id": event.stream_id,
                "version": event.version,
                "event_id": event.event_id,
                "type_name": event.type_name,
                "schema_version": event.schema_version,
                "tenant": event.tenant,
                "project": event.project,
                "occurred_at": event.occurred_at,
                "recorded_at": event.recorded_at,
                "data": event.data,
                "event_metadata": metadata,
            }
        )
    return rows


def outbox_row(event: RecordedEvent) -> dict[str, Any]:
    """The `outbox` row of a recorded event: its subject and the envelope to publish."""
    return {
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "version": event.version,
        "subject": event_subject(event.tenant, event.project, event.type_name),
        "payload": envelope_json(event, SOURCE),
        "created_at": event.recorded_at,
    }


def idempotency_row(record: IdempotencyRecord, now: datetime) -> dict[str, Any]:
    """The `idempotency_keys` row of a command's first result."""
    return {
        "tenant": record.tenant,
        "subject": record.subject,
        "key": record.key,
        "fingerprint": record.fingerprint,
        "stream_id": record.stream_id,
        "effect": str(record.effect),
        "response": record.response,
        "created_at": now,
    }


def idempotency_record(row: Any) -> IdempotencyRecord:
    """An `idempotency_keys` row as a record."""
    return IdempotencyRecord(
        tenant=row["tenant"],
        subject=row["subject"],
        key=row["key"],
        fingerprint=row["fingerprint"],
        stream_id=row["stream_id"],
        effect=Effect(row["effect"]),
        response=row["response"],
    )


def timer_rows(
    work_order_id: str, tenant: str, project: str, timers: Sequence[TimerRow]
) -> list[dict[str, Any]]:
    """The `sla_timers` rows of a work order's pending timers."""
    return [
        {
            "work_order_id": work_order_id,
            "key": timer.key,
            "tenant": tenant,
            "project": project,
            "clock": timer.clock,
            "fires_at": timer.fires_at,
            "due_at": timer.due_at,
            "claimed_until": None,
            "timer": timer.timer,
        }
        for timer in timers
    ]


def recorded_from_row(row: Any) -> RecordedEvent:
    """Turn an `events` row into a `RecordedEvent`, upcast to the current schema."""
    version, data = upcast(row["type_name"], row["schema_version"], dict(row["data"]))
    return RecordedEvent(
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=row["event_id"],
        type_name=row["type_name"],
        schema_version=version,
        tenant=row["tenant"],
        project=row["project"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        data=data,
        metadata=EventMetadata.model_validate(row["event_metadata"]),
    )
