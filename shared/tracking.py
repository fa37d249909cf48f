"""The tracking unit of work both event consumers (notify, reporting) write through.

A consumer applies a batch of events and remembers how far it got; both must happen
together, or a crash between them either loses the batch (position moved, effects not)
or applies it twice (effects kept, position not). A `TrackingRecorder` runs the service
layer's unit of work on the batch's rows, moves the consumer's `Tracking` position and
keeps the batch's dead letters in one transaction: all of a batch, or none of it. The
service layer decides what a batch changes; the recorder only stores it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

R = TypeVar("R")
Unit = TypeVar("Unit", covariant=True)
Letter = TypeVar("Letter", bound="DeadLetterEntry", contravariant=True)


@dataclass(frozen=True, slots=True)
class Tracking:
    """How far a consumer has come: the stream sequence of the last message it recorded."""

    consumer: str
    position: int


class DeadLetterEntry(Protocol):
    """What every dead letter says, whichever service keeps it.

    `key` identifies the message given up on (`event:<id>`, `body:<digest>`): recording
    a key again (a redelivery) never adds a second letter.
    """

    @property
    def key(self) -> str: ...

    @property
    def tenant(self) -> str | None: ...

    @property
    def project(self) -> str | None: ...

    @property
    def error(self) -> str: ...


class TrackingRecorder(Protocol[Unit, Letter]):
    """Applies a batch, advances its consumer's position and keeps its dead letters,
    in one transaction.

    `Unit` is the service's view of its rows inside that transaction; the unit of work
    runs on it synchronously, so nothing else commits in between.
    """

    async def record(
        self, tracking: Tracking, work: Callable[[Unit], R], dead: Sequence[Letter] = ()
    ) -> R:
        """Run `work`, move `tracking.consumer` up to `tracking.position` (never back) and
        keep `dead`, atomically; return what `work` returned. If `work` raises, nothing of
        it is kept, the position stays and `dead` is not recorded."""
        ...

    async def position(self, consumer: str) -> int | None:
        """The position `consumer` has recorded, or None before its first batch."""
        ...

    async def recorded_dead_letters(self, consumer: str, keys: Collection[str]) -> set[str]:
        """Which of `keys` are kept as dead letters of `consumer`."""
        ...
