"""The catalogue: every event type of the public contract, by name, with its upcasters.

Stored events are immutable. When an event's shape changes, its model gets a new
`schema_version` and an upcaster turning the previous version's data into the new
shape is registered here; readers call `upcast` and always see the current shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.events.base import EventData
from shared.events.notification import NOTIFICATION_EVENTS
from shared.events.project import PROJECT_EVENTS
from shared.events.resident import RESIDENT_EVENTS
from shared.events.sla import SLA_EVENTS
from shared.events.workorder import WORK_ORDER_EVENTS

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]

EVENT_TYPES: Mapping[str, type[EventData]] = {
    cls.type_name: cls
    for cls in (
        *WORK_ORDER_EVENTS,
        *SLA_EVENTS,
        *PROJECT_EVENTS,
        *NOTIFICATION_EVENTS,
        *RESIDENT_EVENTS,
    )
}

# (type name, from version) -> function returning the data at from version + 1.
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register_upcaster(type_name: str, from_version: int, upcaster: Upcaster) -> None:
    """Register the function that turns `type_name` data at `from_version` into the next version."""
    _UPCASTERS[(type_name, from_version)] = upcaster


def unregister_upcaster(type_name: str, from_version: int) -> None:
    """Remove an upcaster (tests register temporary ones)."""
    _UPCASTERS.pop((type_name, from_version), None)


def current_version(type_name: str) -> int:
    """The schema version new events of this type are written with."""
    cls = EVENT_TYPES.get(type_name)
    return cls.schema_version if cls is not None else 1


def upcast(type_name: str, schema_version: int, data: JsonObject) -> tuple[int, JsonObject]:
    """Bring stored `data` up to the current schema version of its type, one step at a time."""
    target = current_version(type_name)
    version = schema_version
    while version < target:
        step = _UPCASTERS.get((type_name, version))
        if step is None:
            raise LookupError(f"no upcaster for {type_name} v{version} -> v{version + 1}")
        data = step(data)
        version += 1
    return version, data


def parse(type_name: str, data: JsonObject) -> EventData:
    """Validate current-shape data into its event model."""
    try:
        cls = EVENT_TYPES[type_name]
    except KeyError:
        raise LookupError(f"unknown event type {type_name!r}") from None
    return cls.model_validate(data)
