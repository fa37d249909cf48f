"""notify's events on the EVENTS stream that name a resident by their clear phone
(`resident:phone:<phone>`, before references): replaced by masked copies.

Each delivery's notification events (one group: the envelope's subject is the
delivery) are published again in order with the recipient masked and the same ids, and
the old messages are erased (`shared.stream_rewrite`). Nothing else in them is
personal: bodies are never published.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import orjson
from nats.js import JetStreamContext

from services.notify.domain.stored_before_masking import masked_notification, report_reference
from shared.jetstream import OutgoingMessage
from shared.stream_rewrite import Envelope, Replaced, each_message, replace_messages
from shared.subjects import event_subject

NOTIFICATION_SUBJECTS = "events.*.*.notification.>"
REPORTED_SUBJECTS = "events.*.*.workorder.reported"


async def report_references(js: JetStreamContext, batch_size: int = 500) -> dict[str, str]:
    """The resident reference of each work order whose report is on the stream sealed
    (by work order id): what `wo dispatch seal-personal-data` published, which notify's
    consumer skipped as already applied."""
    found: dict[str, str] = {}

    def visit(_: int, body: bytes, __: datetime) -> None:
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        named = report_reference(envelope) if isinstance(envelope, dict) else None
        if named is not None:
            found[named[0]] = named[1]

    await each_message(js, REPORTED_SUBJECTS, visit, batch_size=batch_size)
    return found


def names_a_phone(envelope: Envelope) -> bool:
    """Whether a notification event's recipient holds a resident's clear phone."""
    return masked_notification(envelope) != envelope


async def _masked(_: str, envelopes: Sequence[Envelope]) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(
            event_subject(e["tenant"], e["project"], str(e["type"]).rsplit(".", 1)[0]),
            orjson.dumps(masked_notification(e)),
            str(e["id"]),
        )
        for e in envelopes
    ]


async def mask_stream(
    js: JetStreamContext,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_wait: Callable[[float], None] | None = None,
) -> Replaced:
    """Replace every delivery's events that name a resident's clear phone."""
    return await replace_messages(
        js,
        NOTIFICATION_SUBJECTS,
        names_a_phone,
        _masked,
        batch_size=batch_size,
        dry_run=dry_run,
        on_wait=on_wait,
    )
