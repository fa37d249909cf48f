"""The load limit of acceptances, planned within one group of appends.

Every implementation of the event store reads the open work orders of each guarded
person where the group is written (the SQL store under the person's lock,
`load_guard`); this part then admits or refuses the group's guarded appends in arrival
order with the domain's rule (`domain.assignment.load_limit_refusal`), counting the
appends planned before each one, so two acceptances by one person in the same group see
each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from services.dispatch.adapters.inline import InlinePart, Written
from services.dispatch.domain.assignment import load_limit_refusal
from services.dispatch.domain.workorder import OPEN_STATUSES
from services.dispatch.service_layer.ports import AppendBatch, LoadGuard, WorkOrderView

Loads = dict[tuple[str, str], set[str]]
"""The open work orders (ids) of each guarded (tenant, person)."""

OPEN = sorted(status.value for status in OPEN_STATUSES)
"""The open statuses as the listing keeps them: what counts as a person's load."""

_OPEN = frozenset(OPEN)


def guarded_people(batches: Iterable[AppendBatch]) -> list[tuple[str, str]]:
    """The (tenant, person) of every guarded append, sorted (the lock order)."""
    return sorted(
        {(b.tenant, guard.assignee) for b in batches if (guard := b.inline_of(LoadGuard))}
    )


class LoadPlan:
    """The loads of the group's guarded people as the appends planned so far leave them."""

    def __init__(self, loads: Loads) -> None:
        self.loads = loads

    def admit(self, batch: AppendBatch) -> AppendBatch | Exception:
        """Refuse a guarded append over its person's limit; count any other append."""
        guard = batch.inline_of(LoadGuard)
        if guard is not None:
            open_orders = self.loads.get((batch.tenant, guard.assignee), set())
            refused = load_limit_refusal(guard.assignee, open_orders, batch.stream_id, guard.limit)
            if refused is not None:
                return refused
        self._count(batch)
        return batch

    def fork(self) -> InlinePart:
        """A copy whose counts the original does not share."""
        return LoadPlan({key: set(ids) for key, ids in self.loads.items()})

    def write(self, written: Sequence[Written], now: datetime) -> None:
        """Nothing: the loads are read from the listing, which its own part writes."""

    def _count(self, batch: AppendBatch) -> None:
        view = batch.inline_of(WorkOrderView)
        if view is None or not self.loads:
            return
        for (tenant, person), open_orders in self.loads.items():
            if tenant != batch.tenant:
                continue
            if view.assignee == person and view.status in _OPEN:
                open_orders.add(batch.stream_id)
            else:
                open_orders.discard(batch.stream_id)
