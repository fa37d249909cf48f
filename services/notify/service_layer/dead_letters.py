"""Retrying a dead letter: an event is applied again, a dead delivery is queued again."""

from __future__ import annotations

from pydantic import ValidationError

from services.notify.service_layer.handler import NotifyHandler
from services.notify.service_layer.ports import Store
from shared.clock import Clock
from shared.consumer import catalogue_error
from shared.envelope import Envelope
from shared.errors import Conflict, NotFound


async def retry_dead_letter(
    store: Store, handler: NotifyHandler, clock: Clock, dead_letter_id: int
) -> str:
    """Retry one dead letter; returns what was done. Raises `NotFound` or `Conflict`."""
    now = clock.now()
    async with store.transaction() as tx:
        letter = await tx.dead_letter(dead_letter_id)
        if letter is None:
            raise NotFound(f"no dead letter {dead_letter_id}", code="dead_letter_not_found")
        if letter.retried_at is not None:
            raise Conflict(
                f"dead letter {dead_letter_id} was retried at {letter.retried_at.isoformat()}",
                code="already_retried",
            )
        if letter.kind == "delivery":
            assert letter.delivery_id is not None
            await tx.requeue_delivery(letter.delivery_id, now)
            await tx.mark_retried(dead_letter_id, now)
            return "delivery queued again"
        try:
            envelope = Envelope.from_json(letter.data or b"")
        except ValidationError:
            raise Conflict(
                "the dead letter's body is not a valid event envelope; it cannot be retried",
                code="not_retryable",
            ) from None
        invalid = catalogue_error(envelope)
        if invalid is not None:
            raise Conflict(f"the event still fails: {invalid}", code="retry_failed")
        try:
            await handler.apply(tx, envelope)
        except Exception as exc:
            raise Conflict(
                f"the event still fails: {type(exc).__name__}: {exc}", code="retry_failed"
            ) from exc
        await tx.mark_retried(dead_letter_id, now)
        return "event applied"
