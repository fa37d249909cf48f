"""Retrying a dead letter: an event is applied again, a dead delivery is queued again."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from services.notify.service_layer.handler import NotifyHandler
from services.notify.service_layer.ports import DeadLetterRecord, DeadLetterRetries, RetryBatch
from shared.clock import Clock
from shared.consumer import catalogue_error
from shared.envelope import Envelope
from shared.errors import Conflict, NotFound


async def retry_dead_letter(
    retries: DeadLetterRetries, handler: NotifyHandler, clock: Clock, dead_letter_id: int
) -> str:
    """Retry one dead letter; returns what was done. Raises `NotFound` or `Conflict`.

    The letter is read, retried and marked in one transaction: a retry that fails
    leaves it as it was, and two retries at once cannot both go through.
    """
    now = clock.now()

    def work(letter: DeadLetterRecord | None, batch: RetryBatch) -> str:
        return _retry(handler, dead_letter_id, now, letter, batch)

    return await retries.retry(dead_letter_id, work)


def _retry(
    handler: NotifyHandler,
    dead_letter_id: int,
    now: datetime,
    letter: DeadLetterRecord | None,
    batch: RetryBatch,
) -> str:
    if letter is None:
        raise NotFound(f"no dead letter {dead_letter_id}", code="dead_letter_not_found")
    if letter.retried_at is not None:
        raise Conflict(
            f"dead letter {dead_letter_id} was retried at {letter.retried_at.isoformat()}",
            code="already_retried",
        )
    if letter.kind == "delivery":
        assert letter.delivery_id is not None
        batch.requeue_delivery(letter.delivery_id, now)
        batch.mark_retried(dead_letter_id, now)
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
        handler.apply(batch, envelope)
    except Exception as exc:
        raise Conflict(
            f"the event still fails: {type(exc).__name__}: {exc}", code="retry_failed"
        ) from exc
    batch.mark_retried(dead_letter_id, now)
    return "event applied"
