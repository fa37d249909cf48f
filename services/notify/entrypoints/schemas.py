"""The bodies notify answers with, as pydantic models for the OpenAPI document.

Handlers return the rows as read (`adapters.queries`); these models only describe them
(`shared.http.responses`), one field per column shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, RootModel

from services.notify.domain.model import Audience
from services.notify.service_layer.ports import DeliveryFields
from shared.http.responses import Body, body_of


class DeliveryProgress(Body):
    """How a delivery went: its audience, attempts, times and digest."""

    audience: Audience
    urgent: bool
    alert: bool
    attempts: int
    last_error: str | None
    status_reason: str | None = Field(
        description="Why a `skipped` delivery was: `resident_erased`, `no_resident_reference`, "
        "`no_phone`; null otherwise."
    )
    created_at: datetime
    due_at: datetime | None
    sent_at: datetime | None
    window_start: datetime | None = Field(description="The digest window it waits in, if any.")
    digest_id: str | None
    item_count: int
    event_count: int


# The delivery row as notify writes it (`DeliveryFields`: cause, recipient, channel,
# `address` the route or contact, never a credential), but its HTML, and how it went.
Delivery = body_of(
    "Delivery",
    DeliveryFields,
    "One delivery: an event's message to one recipient on one channel, and how it went.",
    base=DeliveryProgress,
    leave_out=("body_html",),
)


class DeliveryWithMessage(Delivery):  # type: ignore[valid-type,misc]
    """One delivery with its HTML body too."""

    body_html: str


class Deliveries(RootModel[list[Delivery]]):  # type: ignore[valid-type]
    """Deliveries, newest first."""


class DeadLetter(Body):
    """An event the consumer, or a delivery a channel, gave up on (without its body)."""

    id: int
    kind: Literal["event", "delivery"]
    tenant: str | None
    project: str | None
    subject: str | None
    stream_sequence: int | None
    event_id: str | None
    delivery_id: str | None
    error: str
    attempts: int
    created_at: datetime
    retried_at: datetime | None


class DeadLetters(RootModel[list[DeadLetter]]):
    """Dead letters, newest first."""


class Retried(Body):
    """What retrying a dead letter did."""

    status: Literal["retried"]
    outcome: str


class InboxMessage(Body):
    """One in-app message of the caller."""

    id: int
    delivery_id: str
    tenant: str
    project: str
    person: str
    subject: str
    body_text: str
    work_order_id: str | None
    created_at: datetime
    read_at: datetime | None


class Inbox(RootModel[list[InboxMessage]]):
    """Inbox messages, oldest first."""


class MarkedRead(Body):
    """The message now read."""

    id: int
    read: Literal[True]
