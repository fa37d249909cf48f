"""The public event catalogue: payload models, recorded events, upcasting."""

from shared.events.base import EventData
from shared.events.catalogue import EVENT_TYPES, parse, upcast
from shared.events.recorded import EventMetadata, RecordedEvent

__all__ = ["EVENT_TYPES", "EventData", "EventMetadata", "RecordedEvent", "parse", "upcast"]
