"""The parts an event store registers beside its append, one per kind of inline value.

An append carries its inline values (`ports.Inline`): views kept in the same transaction
(the work-order listing, the project registry, the timer table) and preconditions or
stamps of the write (the load limit, a new order's number). The store does not name
them: it opens each registered part for a group of appends, in registration order
(which is the lock order), lets each admit every append in arrival order, and asks each
to write the rows of the appends written. A projection admits everything and writes
rows; a precondition may refuse an append; a stamp gives it what only the store can
(a number), and writes its own counters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from services.dispatch.service_layer.ports import AppendBatch, AppendResult

Written = tuple[AppendBatch, AppendResult]
"""An append as it is written (stamped) and what it recorded."""


class InlinePart(Protocol):
    """One registered kind's part in the transaction of one group of appends."""

    def admit(self, batch: AppendBatch) -> AppendBatch | Exception:
        """`batch` admitted (counted in what the part planned so far, stamped if it
        stamps), or the refusal its caller gets; called in arrival order."""
        ...

    def fork(self) -> InlinePart:
        """A copy to plan one append on (in a savepoint); the original stays as it was,
        and the copy replaces it only if the append commits."""
        ...

    def write(self, written: Sequence[Written], now: datetime) -> None:
        """Write what the appends written call for (given sorted by stream)."""
        ...


class Projection(ABC):
    """A part that refuses nothing and stamps nothing: it only writes rows."""

    def admit(self, batch: AppendBatch) -> AppendBatch | Exception:
        """Every append as it is."""
        return batch

    def fork(self) -> InlinePart:
        """Itself: it keeps no plan between appends."""
        return self

    @abstractmethod
    def write(self, written: Sequence[Written], now: datetime) -> None:
        """Write the rows of this kind that the appends written call for."""
