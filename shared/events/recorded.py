"""An event as it is recorded in a store: payload plus position, tenancy and metadata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class EventMetadata(BaseModel):
    """Who caused an event and in answer to what."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str
    correlation_id: str
    causation_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One row of an event stream: `version` is its 1-based position in the stream."""

    stream_id: str
    version: int
    event_id: UUID
    type_name: str
    schema_version: int
    tenant: str
    project: str
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]
    metadata: EventMetadata
