"""notify's own events: built from a delivery and queued in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.notify.service_layer.ports import Delivery, NewDelivery
from shared.envelope import Envelope
from shared.events.base import EventData

SOURCE = "/notify"


def notification_envelope(
    event: EventData,
    delivery: Delivery | NewDelivery,
    *,
    sequence: int,
    at: datetime,
) -> Envelope:
    """The envelope of a notification event about `delivery` (its `sequence`-th event)."""
    return Envelope(
        id=uuid.uuid4(),
        source=SOURCE,
        type=event.cloudevents_type(),
        subject=f"notification:{delivery.id}",
        time=at,
        data=event.model_dump(mode="json"),
        tenant=delivery.tenant,
        project=delivery.project,
        sequence=sequence,
        correlationid=delivery.correlation_id,
        causationid=delivery.event_id,
        actor="notify",
    )


def common_fields(delivery: Delivery | NewDelivery, attempts: int) -> dict[str, Any]:
    """The fields every notification event repeats about its delivery."""
    return {
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "work_order_id": delivery.work_order_id,
        "recipient": delivery.recipient,
        "channel": str(delivery.channel),
        "template": delivery.template,
        "language": delivery.language,
        "attempts": attempts,
    }
