"""What the projector needs from storage, and the records it hands over.

The projector (the service layer) decides; the adapter only stores. A batch is applied
through a `ReadModelRecorder`, reporting's kind of the shared `shared.tracking`
recorder: in one transaction it lets the projector load and fold the batch's streams
through a `ReadModelBatch`, advances the consumer's checkpoint and keeps the dead
letters, so a crash leaves all of a batch or none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from services.reporting.domain.facts import OrderFacts
from services.reporting.domain.lease import Lease
from services.reporting.service_layer.projection import WorkingSet
from shared.tracking import Tracking, TrackingRecorder

R = TypeVar("R")


@dataclass(frozen=True)
class DeadLetterRecord:
    """A dead letter as stored (a `shared.tracking.DeadLetterEntry`)."""

    key: str
    tenant: str | None
    project: str | None
    subject: str
    stream_sequence: int
    event_id: str | None
    stream_id: str | None
    sequence: int | None
    error: str
    num_delivered: int
    data: bytes
    skipped: bool


class ReadModelBatch(Protocol):
    """The read model's rows of one batch, inside the batch's transaction."""

    def load(self, streams: set[str]) -> WorkingSet:
        """The positions, orders, projects and waiting events of `streams`."""
        ...

    def save(self, working: WorkingSet, before: Mapping[str, OrderFacts]) -> None:
        """Write back what `working` changed since `load`, and move the KPI samples and
        roll-up from the orders' facts `before` to their facts now."""
        ...


class ReadModelRecorder(TrackingRecorder[ReadModelBatch, DeadLetterRecord], Protocol):
    """The shared tracking recorder over the read model, whose rows live in generations."""

    async def record(
        self,
        tracking: Tracking,
        work: Callable[[ReadModelBatch], R],
        dead: Sequence[DeadLetterRecord] = (),
        generation: int | None = None,
    ) -> R:
        """Run `work` on the batch's rows, move `tracking.consumer` up to its position by
        the events the batch applied and keep `dead`, in one transaction. `generation`
        None is the current one (the live projector); a rebuild names the one it fills."""
        ...


class Leases(Protocol):
    """Where the projector's lease is kept: one row per lease, shared by every process."""

    async def claim(self, name: str, holder: str, now: datetime, expiry: timedelta) -> Lease:
        """Atomically renew or take the lease `name` for `holder` (`domain.lease.claim`);
        return the lease as it now is, whoever holds it."""
        ...

    async def release(self, name: str, holder: str, now: datetime) -> None:
        """End `holder`'s lease now, if it holds it."""
        ...
