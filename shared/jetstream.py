"""Publishing to JetStream with deduplication ids, in waves with one deadline.

Used by the outbox publisher (`shared.outbox`) for its rounds and its refills: neither
may let a later event of an ordering lane (a work order, say) overtake an earlier one,
so a wave holds a lane's events only in order, and what follows a failure goes again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError

MSG_ID_HEADER = "Nats-Msg-Id"
_MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One event ready for JetStream: subject, envelope bytes and its deduplication id."""

    subject: str
    payload: bytes
    msg_id: str


async def publish_wave(
    js: JetStreamContext, messages: Sequence[OutgoingMessage], ack_timeout: float
) -> list[str | None]:
    """Publish `messages`, wait up to `ack_timeout` s for their acks; one error text or None each.

    The messages go out in the given order on the one connection. A caller that puts
    two events of one work order in the same wave accepts that, if the first of them
    failed, the second could still be stored before it (dispatch does not; notify does).
    A duplicate acknowledgement (the id is already in the stream) counts as success.
    """
    errors: list[str | None] = [None] * len(messages)
    futures: dict[asyncio.Future[Any], int] = {}
    sent = 0
    try:
        # One deadline for the whole wave rather than nats-py's `wait_stall` per message:
        # that wraps every publish in `asyncio.wait_for`, which cost the relay three
        # quarters of its publish rate. A wave stalled by too many unacknowledged
        # messages (NATS gone) still ends at the deadline.
        async with asyncio.timeout(ack_timeout):
            for index, message in enumerate(messages):
                sent = index + 1
                try:
                    future = await js.publish_async(
                        message.subject, message.payload, headers={MSG_ID_HEADER: message.msg_id}
                    )
                except Exception as exc:  # not connected, buffer full
                    errors[index] = describe_error(exc)
                else:
                    futures[future] = index
            if futures:
                await asyncio.wait(futures)
        if any(
            f.done() and not f.cancelled() and isinstance(f.exception(), NoStreamResponseError)
            for f in futures
        ):
            raise StreamMissing("no JetStream stream takes these subjects (was EVENTS deleted?)")
    except TimeoutError:
        for index in range(sent - 1 if sent else 0, len(messages)):
            if errors[index] is None and index not in futures.values():
                errors[index] = f"not sent within {ack_timeout:g} s (too many unacknowledged)"
    finally:
        for future, index in futures.items():
            if not future.done():
                errors[index] = f"no acknowledgement within {ack_timeout:g} s"
                # A future left waiting holds one of the JetStream context's in-flight
                # slots until an ack that may never come; cancelling it gives it back.
                future.cancel()
            elif future.cancelled():
                errors[index] = "publish cancelled"
            elif (failure := future.exception()) is not None:
                errors[index] = describe_error(failure)
    return errors


class StreamMissing(Exception):
    """JetStream answered that no stream stores the subject: the stream was lost."""


def describe_error(exc: BaseException) -> str:
    """A short one-line description of a publish error, for logs and `outbox.last_error`."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described[:_MAX_ERROR_CHARS]
