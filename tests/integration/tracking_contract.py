"""The contract of a `shared.tracking.TrackingRecorder`, written once for every implementation.

It talks only through the port: a unit of work the service supplies writes a marker into
the batch's rows, another reads it back (as a reader of its own, so the consumer under
test never moves), and the position and dead letters are read through the recorder. A
service's suite subclasses `TrackingRecorderContract` with its recorder fixture and the
three hooks below; `database_url` runs it on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import pytest

from shared.tracking import DeadLetterEntry, Tracking, TrackingRecorder

Unit = TypeVar("Unit")
Letter = TypeVar("Letter", bound=DeadLetterEntry)

CONSUMER = "contract"
READER = "contract-reader"


class Crash(Exception):
    """The unit of work failing half-way (the process dying between its writes)."""


class TrackingRecorderContract(Generic[Unit, Letter]):
    """What every tracking recorder promises. Subclasses give a `recorder` fixture."""

    def write(self, marker: str) -> Callable[[Unit], str]:
        """A unit of work that writes `marker` into the batch's rows and returns it."""
        raise NotImplementedError

    def written(self, marker: str) -> Callable[[Unit], bool]:
        """A unit of work that tells whether `marker` is in the rows."""
        raise NotImplementedError

    def letter(self, key: str) -> Letter:
        """A dead letter of the service with that key."""
        raise NotImplementedError

    async def _written(self, recorder: TrackingRecorder[Unit, Letter], marker: str) -> bool:
        return await recorder.record(Tracking(READER, 0), self.written(marker))

    async def test_a_batch_is_kept_with_the_consumers_position(
        self, recorder: TrackingRecorder[Unit, Letter]
    ) -> None:
        assert await recorder.position(CONSUMER) is None

        result = await recorder.record(Tracking(CONSUMER, 5), self.write("first"))

        assert result == "first"
        assert await recorder.position(CONSUMER) == 5
        assert await self._written(recorder, "first")

    async def test_the_position_never_moves_back(
        self, recorder: TrackingRecorder[Unit, Letter]
    ) -> None:
        await recorder.record(Tracking(CONSUMER, 9), self.write("ahead"))
        # A redelivered batch comes back below the position reached.
        await recorder.record(Tracking(CONSUMER, 4), self.write("again"))

        assert await recorder.position(CONSUMER) == 9
        assert await self._written(recorder, "again")

    async def test_each_consumer_has_its_own_position(
        self, recorder: TrackingRecorder[Unit, Letter]
    ) -> None:
        await recorder.record(Tracking(CONSUMER, 3), self.write("one"))
        await recorder.record(Tracking("other", 11), self.write("two"))

        assert await recorder.position(CONSUMER) == 3
        assert await recorder.position("other") == 11

    async def test_dead_letters_are_kept_with_the_batch_once_per_key(
        self, recorder: TrackingRecorder[Unit, Letter]
    ) -> None:
        letters = [self.letter("event:x"), self.letter("event:y")]
        await recorder.record(Tracking(CONSUMER, 2), self.write("with-letters"), letters)
        # The same message given up on again (a redelivery) is the same letter.
        await recorder.record(Tracking(CONSUMER, 3), self.write("again"), [letters[0]])

        keys = {"event:x", "event:y", "event:never"}
        assert await recorder.recorded_dead_letters(CONSUMER, keys) == {"event:x", "event:y"}
        assert await recorder.position(CONSUMER) == 3

    async def test_a_unit_of_work_that_fails_leaves_nothing_of_its_batch(
        self, recorder: TrackingRecorder[Unit, Letter]
    ) -> None:
        await recorder.record(Tracking(CONSUMER, 2), self.write("before"))
        write = self.write("lost")

        def crash(unit: Unit) -> Any:
            write(unit)
            raise Crash("between the batch's writes and its commit")

        with pytest.raises(Crash):
            await recorder.record(Tracking(CONSUMER, 8), crash, [self.letter("event:lost")])

        assert await recorder.position(CONSUMER) == 2
        assert not await self._written(recorder, "lost")
        assert await recorder.recorded_dead_letters(CONSUMER, {"event:lost"}) == set()
        assert await self._written(recorder, "before")
