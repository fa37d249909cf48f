"""The base of every event payload in the public catalogue."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """The `data` of one event type: immutable; unknown fields are ignored when parsing.

    The contract grows by new optional fields without a new version, so a consumer
    built against this version must read events from a newer producer. Inputs that
    must refuse unknown fields (HTTP bodies) are strict subclasses in dispatch's
    commands.

    `type_name` is the unversioned type (`workorder.reported`); `schema_version`
    is bumped, with an upcaster for stored events, whenever the shape changes.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    type_name: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def cloudevents_type(cls) -> str:
        """The CloudEvents `type` attribute, e.g. `workorder.reported.v1`."""
        return f"{cls.type_name}.v{cls.schema_version}"

    @classmethod
    def event_name(cls) -> str:
        """The last token of the subject, e.g. `reported`."""
        return cls.type_name.split(".", 1)[1]
