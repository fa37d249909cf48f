"""Work-order numbers, planned within one group of appends.

A number is the next value of a counter per (tenant, project, local day), never a count
of existing orders (two transactions counting at once get the same answer). Every
implementation of the event store reads the counters a group needs where the group is
written (the SQL store locking their rows, `order_numbers`); this part numbers the new
orders in arrival order and hands the counters it advanced to the store's `save`, in
the same transaction: a number is given once committed, and only then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from services.dispatch.adapters.inline import InlinePart, Written
from services.dispatch.domain.workorder import Numbering
from services.dispatch.service_layer.ports import AppendBatch

CounterKey = tuple[str, str, str]
"""(tenant, project, local day as YYYYMMDD)."""

Counters = dict[CounterKey, int]
"""The last sequence given on each counter."""


def counter_key(batch: AppendBatch) -> CounterKey | None:
    """The counter a batch's new work order is numbered from; None if it needs no number."""
    numbering = batch.inline_of(Numbering)
    if numbering is None:
        return None
    return (batch.tenant, batch.project, f"{numbering.day:%Y%m%d}")


def counter_keys(batches: Iterable[AppendBatch]) -> list[CounterKey]:
    """The counters a group numbers from, sorted (the lock order)."""
    return sorted({key for b in batches if (key := counter_key(b)) is not None})


class NumberPlan:
    """The counters of a group: as stored in its transaction, and as numbered so far."""

    def __init__(self, stored: Counters, save: Callable[[Counters], None]) -> None:
        self._stored = stored
        self._planned = dict(stored)
        self._save = save

    def admit(self, batch: AppendBatch) -> AppendBatch | Exception:
        """`batch` with the next number of its counter in it; as it is if it needs none."""
        key = counter_key(batch)
        numbering = batch.inline_of(Numbering)
        if key is None or numbering is None:
            return batch
        self._planned[key] += 1
        return batch.with_number(numbering.number(self._planned[key]))

    def fork(self) -> InlinePart:
        """A copy numbering on from where this one is."""
        return NumberPlan(dict(self._planned), self._save)

    def write(self, written: Sequence[Written], now: datetime) -> None:
        """Save the counters advanced past what is stored."""
        changed = {
            key: last for key, last in sorted(self._planned.items()) if self._stored[key] != last
        }
        if changed:
            self._save(changed)
        self._stored.update(changed)
