"""Version 1 of notify's events (通知): what was delivered to whom, and what was not.

They go on `events.<tenant>.<project>.notification.<event>`. The envelope's subject is
`notification:<delivery id>` and its `sequence` counts the events of that delivery, so
each delivery is a small stream of its own: deferred, failed (per failed attempt), and
finally sent, dead or skipped; or, for a message that reached nobody, one `unreached`. `event_id` and `event_type` name the work-order event that caused
the message (a digest has no single cause: `event_id` is None and `digest_items` lists
the deliveries it carried).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from shared.events.base import EventData

ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class NotificationEvent(EventData):
    """What every notification event says about its delivery; never published on its own."""

    delivery_id: ShortText
    event_id: ShortText | None = None
    event_type: ShortText
    work_order_id: ShortText | None = None
    recipient: ShortText
    """`resident:<reference>` (`rsd_...`; before references `resident:<login>` or
    `resident:phone:<masked phone>`) or `person:<id>` (an unreached delivery:
    the route target that reached nobody)."""
    channel: ShortText
    """webhook, email, sms, inbox, wecom, dingtalk or feishu (`none` when unreached)."""
    template: ShortText
    language: ShortText
    attempts: Annotated[int, Field(ge=0)]


class NotificationSent(NotificationEvent):
    """The channel accepted the message."""

    type_name = "notification.sent"

    sent_at: AwareDatetime
    digest_items: tuple[ShortText, ...] = ()


class NotificationFailed(NotificationEvent):
    """One attempt failed; it is tried again at `next_attempt_at`."""

    type_name = "notification.failed"

    error: Annotated[str, Field(min_length=1, max_length=2000)]
    next_attempt_at: AwareDatetime


class NotificationDeferred(NotificationEvent):
    """A non-urgent message to a resident waits for the end of quiet hours."""

    type_name = "notification.deferred"

    deferred_until: AwareDatetime
    reason: ShortText


class NotificationDead(NotificationEvent):
    """The channel's retry policy gave up; the delivery is in the dead-letter list."""

    type_name = "notification.dead"

    error: Annotated[str, Field(min_length=1, max_length=2000)]


class NotificationUnreached(NotificationEvent):
    """A message reached nobody: its delivery is recorded in state `unreached`, never sent.

    `recipient` is the route's target that resolved to nobody (`escalation_target`,
    `role:<role>`, `resident`) or the person no channel reaches (`person:<id>`); `channel`
    is `none`. `fallback` names the tenant's operator contact told instead, if any.
    """

    type_name = "notification.unreached"

    reason: Annotated[str, Field(min_length=1, max_length=500)]
    fallback: ShortText | None = None


class NotificationSkipped(NotificationEvent):
    """A message that will never be sent, by decision rather than failure: its resident
    was erased (`resident_erased`: pending messages are cancelled, and an SMS due later
    is refused by dispatch), or their phone cannot be had (`no_resident_reference`: an
    event recorded before residents had references; `no_phone`)."""

    type_name = "notification.skipped"

    reason: ShortText


NOTIFICATION_EVENTS: tuple[type[EventData], ...] = (
    NotificationSent,
    NotificationFailed,
    NotificationDeferred,
    NotificationDead,
    NotificationUnreached,
    NotificationSkipped,
)
