"""reporting's read model in memory: the `ReadModelRecorder` without a database.

For tests of the projector that are not about storage: they run in milliseconds. It
keeps one process's rows only, so it is never what the service runs on. A batch commits
all or nothing through `shared.memory_tracking`; the rows are those the SQL tables hold
(positions, order facts, project facts, waiting events, notification outcomes) and, in
place of the KPI samples and roll-up, the (before, after) facts of each change,
which is what the SQL store draws them from.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from services.reporting.domain.facts import OrderFacts, ProjectFacts
from services.reporting.domain.notifications import NotificationOutcome
from services.reporting.service_layer.ports import DeadLetterRecord, ReadModelBatch
from services.reporting.service_layer.projection import Waiting, WorkingSet
from shared.memory_tracking import InMemoryTrackingRecorder
from shared.tracking import Tracking

R = TypeVar("R")

FIRST_GENERATION = 1


@dataclass
class ReadModelRows:
    """The rows of one generation of the read model."""

    positions: dict[str, int] = field(default_factory=dict)
    orders: dict[str, OrderFacts] = field(default_factory=dict)
    projects: dict[tuple[str, str], ProjectFacts] = field(default_factory=dict)
    pending: dict[tuple[str, int], Waiting] = field(default_factory=dict)
    notifications: list[NotificationOutcome] = field(default_factory=list)
    samples: list[tuple[OrderFacts | None, OrderFacts]] = field(default_factory=list)
    """Each change of an order: its facts before the batch and after it."""


def _project_key(stream: str) -> tuple[str, str] | None:
    parts = stream.split(":")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "project" else None


class InMemoryReadModelBatch:
    """`ReadModelBatch` over one batch's copy of the rows."""

    def __init__(self, rows: ReadModelRows) -> None:
        self._rows = rows

    def load(self, streams: set[str]) -> WorkingSet:
        """The positions, orders, projects and waiting events of `streams`."""
        rows = self._rows
        projects = {key for key in map(_project_key, streams) if key is not None}
        return WorkingSet(
            positions={s: v for s, v in rows.positions.items() if s in streams},
            orders={s: f for s, f in rows.orders.items() if s in streams},
            projects={k: f for k, f in rows.projects.items() if k in projects},
            pending={k: w for k, w in rows.pending.items() if k[0] in streams},
        )

    def save(self, working: WorkingSet, before: Mapping[str, OrderFacts]) -> None:
        """Write back what `working` changed, and keep each change's before/after."""
        rows = self._rows
        rows.positions.update(working.positions)
        changed = sorted(working.changed_orders)
        rows.orders.update({k: working.orders[k] for k in changed})
        rows.projects.update({k: working.projects[k] for k in working.changed_projects})
        for key in working.released_pending:
            rows.pending.pop(key, None)
        rows.pending.update({k: working.pending[k] for k in working.added_pending})
        rows.notifications.extend(working.notifications)
        rows.samples.extend((before.get(k), working.orders[k]) for k in changed)


BatchOf = Callable[[ReadModelRows], ReadModelBatch]


class InMemoryReadModelStore:
    """`ReadModelRecorder` in memory: one recorder per generation, the first one current.

    `batch_of` gives a batch's view of its rows: a test may wrap `InMemoryReadModelBatch`
    to make a batch fail midway.
    """

    def __init__(self, batch_of: BatchOf = InMemoryReadModelBatch) -> None:
        self.current = FIRST_GENERATION
        self._batch_of = batch_of
        self._generations: dict[
            int, InMemoryTrackingRecorder[ReadModelRows, ReadModelBatch, DeadLetterRecord]
        ] = {}

    def generation(
        self, number: int | None = None
    ) -> InMemoryTrackingRecorder[ReadModelRows, ReadModelBatch, DeadLetterRecord]:
        """The recorder of generation `number` (None: the current one), made on first use."""
        key = self.current if number is None else number
        if key not in self._generations:
            self._generations[key] = InMemoryTrackingRecorder(ReadModelRows(), self._batch_of)
        return self._generations[key]

    @property
    def rows(self) -> ReadModelRows:
        """The committed rows of the current generation (for a test's assertions)."""
        return self.generation().rows

    async def record(
        self,
        tracking: Tracking,
        work: Callable[[ReadModelBatch], R],
        dead: Sequence[DeadLetterRecord] = (),
        generation: int | None = None,
    ) -> R:
        """Run `work` on a batch's rows of `generation`, advance the consumer there and keep
        `dead`, all or nothing."""
        return await self.generation(generation).record(tracking, work, dead)

    async def position(self, consumer: str) -> int | None:
        """The position `consumer` has recorded in the current generation."""
        return await self.generation().position(consumer)

    async def recorded_dead_letters(self, consumer: str, keys: Collection[str]) -> set[str]:
        """Which of `keys` are kept as dead letters of `consumer` in the current generation."""
        return await self.generation().recorded_dead_letters(consumer, keys)
