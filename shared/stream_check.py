"""Whether the EVENTS stream still holds what one publisher has published.

The stream is a copy: dispatch's event store and notify's outbox are the records. A
stream deleted, recreated empty or purged would otherwise stay incomplete for good,
because publishers only ever send what is new. So each publisher keeps a record of
the stream it published to (when the stream was created, the last sequence it saw)
and checks the stream against it and against its own store:

- the stream is missing;
- the stream is not the one it saw (created at another time: a new stream);
- the stream's last sequence went below its record (sequences never go back);
- the stream holds fewer of the publisher's messages (counted on its own subjects)
  than its store says were published (a purge, or a stream created before it came).

The count is read after the store's, so events acknowledged and not yet marked can
only make the stream look fuller, never lost. On any of these the publisher
republishes its store (per work order in order) before it publishes anything new.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from prometheus_client import Counter

STREAM_LOSSES = Counter(
    "bus_stream_losses_total",
    "Times this process found the stream missing what it had published, by publisher and reason",
    ["publisher", "reason"],
)
STREAM_REPUBLISHED = Counter(
    "bus_stream_republished_total",
    "Messages republished from the store after the stream lost them, by publisher",
    ["publisher"],
)


@dataclass
class BusState:
    """What `/readyz` says about the stream this process publishes to."""

    stream: str = "unchecked"
    """unchecked, complete, missing (waiting for its owner), or republishing."""
    losses: int = 0
    last_loss: str | None = None
    last_loss_at: datetime | None = None
    last_republished: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The state as JSON-ready values."""
        return {
            "stream": self.stream,
            "losses": self.losses,
            "last_loss": self.last_loss,
            "last_loss_at": self.last_loss_at.isoformat() if self.last_loss_at else None,
            "last_republished": self.last_republished,
        }

    def lost(self, publisher: str, reason: str) -> None:
        """Note a loss about to be repaired."""
        self.stream = "republishing"
        self.losses += 1
        self.last_loss = reason
        self.last_loss_at = datetime.now(UTC)
        STREAM_LOSSES.labels(publisher, _reason_label(reason)).inc()

    def repaired(self, publisher: str, republished: int) -> None:
        """Note that the store was republished: the stream is complete again."""
        self.stream = "complete"
        self.last_republished = republished
        STREAM_REPUBLISHED.labels(publisher).inc(republished)


def _reason_label(reason: str) -> str:
    # The metric label is the kind of loss, not the numbers in the message.
    return reason.split(":", 1)[0]


class StreamRecord:
    """One publisher's record of the stream, and the check of the stream against it.

    `published` counts the messages the publisher's store says reached the stream.
    The identity check (one `stream_info`) runs at most every `identity_seconds`;
    the count (a short-lived consumer on the publisher's subjects) every `count_seconds`
    and at the first check.
    """

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        subjects: Sequence[str],
        published: Callable[[], Awaitable[int]],
        *,
        identity_seconds: float = 1.0,
        count_seconds: float = 30.0,
    ) -> None:
        self._js = js
        self._stream = stream
        self._subjects = list(subjects)
        self._published = published
        self._identity_seconds = identity_seconds
        self._count_seconds = count_seconds
        self._created: datetime | None = None
        self._last_seq = 0
        self._checked_at = float("-inf")
        self._counted_at = float("-inf")

    def forget(self) -> None:
        """Drop the record: the next check trusts nothing and counts (after a republish)."""
        self._created = None
        self._last_seq = 0
        self._checked_at = float("-inf")
        self._counted_at = float("-inf")

    async def due_loss(self) -> str | None:
        """`loss()` if a check is due, else None."""
        if time.monotonic() - self._checked_at < self._identity_seconds:
            return None
        return await self.loss()

    async def loss(self) -> str | None:
        """Why the stream does not hold what was published, or None if it does.

        Raises what NATS raises when it cannot answer (the caller retries later).
        """
        now = time.monotonic()
        try:
            info = await self._js.stream_info(self._stream)
        except NotFoundError:
            return "stream missing"
        if self._created is not None and info.created != self._created:
            return f"stream recreated: created {info.created}, was {self._created}"
        if info.state.last_seq < self._last_seq:
            return f"sequence behind record: {info.state.last_seq} < {self._last_seq}"
        if now - self._counted_at >= self._count_seconds:
            # The store first: what it calls published was acknowledged before.
            published = await self._published()
            held = await self.held()
            if held < published:
                return f"messages missing: the stream holds {held} of {published} published"
            self._counted_at = now
        self._created = info.created
        self._last_seq = info.state.last_seq
        self._checked_at = now
        return None

    async def held(self) -> int:
        """How many messages of this publisher's subjects the stream holds."""
        config = ConsumerConfig(
            name=f"count-{uuid.uuid4().hex[:12]}",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            mem_storage=True,
            inactive_threshold=30.0,
            # The list form even for one subject: the single form puts the filter, with
            # its wildcards, into the API subject, where permissions cannot name it.
            filter_subjects=self._subjects,
        )
        info = await self._js.add_consumer(self._stream, config)
        try:
            return int(info.num_pending or 0)
        finally:
            await self._js.delete_consumer(self._stream, info.name)
