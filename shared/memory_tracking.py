"""A tracking recorder in memory: the `TrackingRecorder` contract without a database.

For service-layer tests that are not about storage (a consumer's handler, a projector):
they run in milliseconds. It keeps one process's rows only, so it is never what a
service runs on.

All of a batch or none of it, as a transaction gives: the unit of work runs on a copy of
the committed rows, and the copy replaces them (with the position and the dead letters)
only once the unit returned. A unit that raises leaves the copy behind and nothing of it
is seen. `record` never yields to the event loop, so no other batch commits in between.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from typing import Generic, TypeVar

from shared.tracking import DeadLetterEntry, Tracking

Rows = TypeVar("Rows")
Unit = TypeVar("Unit")
Letter = TypeVar("Letter", bound=DeadLetterEntry)
R = TypeVar("R")


class InMemoryTrackingRecorder(Generic[Rows, Unit, Letter]):
    """`TrackingRecorder` over a service's rows in memory.

    `rows` is the service's state (any deep-copyable object); `unit_of` gives the service's
    view of a copy of it for one batch (its `NotifyBatch`, its `ReadModelBatch`), so the
    service layer runs on the same port it runs on over SQL.
    """

    def __init__(self, rows: Rows, unit_of: Callable[[Rows], Unit]) -> None:
        self._rows = rows
        self._unit_of = unit_of
        self._positions: dict[str, int] = {}
        self._letters: dict[str, dict[str, Letter]] = {}

    @property
    def rows(self) -> Rows:
        """The committed rows, for a test's assertions (a unit of work never sees these)."""
        return self._rows

    async def record(
        self, tracking: Tracking, work: Callable[[Unit], R], dead: Sequence[Letter] = ()
    ) -> R:
        """Run `work` on a copy of the rows and keep the copy, the position (never moved
        back) and `dead` only if it returned; if it raises, nothing of it is kept."""
        staged = copy.deepcopy(self._rows)
        result = work(self._unit_of(staged))
        self._rows = staged
        consumer = tracking.consumer
        self._positions[consumer] = max(tracking.position, self._positions.get(consumer, 0))
        letters = self._letters.setdefault(consumer, {})
        for letter in dead:
            # A redelivery's letter has a key already kept: the first one stays.
            letters.setdefault(letter.key, letter)
        return result

    async def position(self, consumer: str) -> int | None:
        """The position `consumer` has recorded, or None before its first batch."""
        return self._positions.get(consumer)

    async def recorded_dead_letters(self, consumer: str, keys: Collection[str]) -> set[str]:
        """Which of `keys` are kept as dead letters of `consumer`."""
        kept = self._letters.get(consumer, {})
        return {key for key in keys if key in kept}

    def dead_letters(self, consumer: str) -> list[Letter]:
        """The letters kept for `consumer`, in the order first recorded (for assertions)."""
        return list(self._letters.get(consumer, {}).values())
