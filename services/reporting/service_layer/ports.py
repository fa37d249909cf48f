"""What the projector needs from storage, and the records it hands over.

The projector (the service layer) decides; the adapter only stores. A batch is applied
through a `TrackingRecorder`: in one transaction it lets the projector load and fold the
batch's streams through a `ReadModelBatch`, advances the consumer's checkpoint and keeps
the dead letters, so a crash leaves all of a batch or none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.reporting.domain.facts import OrderFacts
from services.reporting.service_layer.projection import WorkingSet


@dataclass(frozen=True)
class DeadLetterRecord:
    """A dead letter as stored."""

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

    def save(self, working: WorkingSet, before: Mapping[str, OrderFacts], sampled: bool) -> None:
        """Write back what `working` changed since `load`; with `sampled`, move the KPI
        samples and roll-up from the orders' facts `before` to their facts now."""
        ...


class TrackingRecorder(Protocol):
    """Applies a batch and advances a consumer's checkpoint, atomically."""

    async def record(
        self,
        consumer: str,
        stream_sequence: int,
        dead: Sequence[DeadLetterRecord],
        work: Callable[[ReadModelBatch], WorkingSet],
        generation: int | None = None,
    ) -> WorkingSet:
        """Run `work` on the batch's rows, move `consumer` up to `stream_sequence` by the
        events it applied and keep `dead`, in one transaction. `generation` None is the
        current one (the live projector); a rebuild names the one it fills."""
        ...
