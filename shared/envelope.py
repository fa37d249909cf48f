"""The message envelope on the bus: CloudEvents 1.0 attributes in a JSON body.

Extensions: `tenant`, `project`, `sequence` (the stream version), `correlationid`,
`causationid`, `actor`. Integrators parse this; see docs/events.md.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.base import EventData
from shared.events.catalogue import parse
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.subjects import Slug, event_subject


class Envelope(BaseModel):
    """One event on the bus (CloudEvents 1.0, JSON structured mode).

    Unknown attributes are ignored: CloudEvents lets producers add extensions.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: str = Field(description="URI reference of the producing service, e.g. /dispatch")
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+\.v[0-9]+$", examples=["workorder.reported.v1"])
    subject: str = Field(
        description="The stream id: the work-order id, or `project:<tenant>:<project>` for project events"
    )
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    tenant: Slug
    project: Slug
    sequence: int = Field(ge=1, description="Version of the event in its stream, from 1")
    correlationid: str
    causationid: str | None = None
    actor: str

    @property
    def type_name(self) -> str:
        """The unversioned type, e.g. `workorder.reported`."""
        return self.type.rsplit(".", 1)[0]

    @property
    def schema_version(self) -> int:
        """The schema version from the type suffix."""
        return int(self.type.rsplit(".v", 1)[1])

    def nats_subject(self) -> str:
        """The subject this envelope is published on."""
        return event_subject(self.tenant, self.project, self.type_name)

    def payload(self) -> EventData:
        """The typed event data (raises if the type is not in this catalogue)."""
        return parse(self.type_name, self.data)

    def to_json(self) -> bytes:
        """Serialise for the wire."""
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Parse and validate a message body."""
        return cls.model_validate_json(raw)

    @classmethod
    def from_recorded(cls, event: RecordedEvent, source: str) -> Envelope:
        """Wrap a recorded event for publishing."""
        return cls.model_validate_json(envelope_json(event, source))

    def metadata(self) -> EventMetadata:
        """The metadata part, as a consumer records it."""
        return EventMetadata(
            actor=self.actor, correlation_id=self.correlationid, causation_id=self.causationid
        )


def envelope_json(event: RecordedEvent, source: str) -> bytes:
    """The wire form of a recorded event, built straight from the store's (trusted) values.

    Equal to `Envelope.from_recorded(event, source).to_json()` but without building and
    re-validating a model: it runs for every event appended, on the ingest path.
    """
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(event.event_id),
            "source": source,
            "type": f"{event.type_name}.v{event.schema_version}",
            "subject": event.stream_id,
            "time": event.occurred_at.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": event.data,
            "tenant": event.tenant,
            "project": event.project,
            "sequence": event.version,
            "correlationid": event.metadata.correlation_id,
            "causationid": event.metadata.causation_id,
            "actor": event.metadata.actor,
        }
    )
