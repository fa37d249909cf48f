"""`ReadModelBatch` over one transaction's connection: what a batch loads and stores."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Connection

from services.reporting.adapters.order_rows import (
    load_working_set,
    write_notifications,
    write_working_set,
)
from services.reporting.adapters.samples import write_samples
from services.reporting.domain.facts import OrderFacts
from services.reporting.service_layer.projection import WorkingSet


class SqlReadModelBatch:
    """The rows of one batch in one generation; remembers what it loaded to write back
    inserts for new rows and updates for existing ones."""

    def __init__(self, conn: Connection, generation: int) -> None:
        self._conn = conn
        self._generation = generation
        self._orders: set[str] = set()
        self._projects: set[tuple[str, str]] = set()
        self._positions: set[str] = set()
        self.applied = 0
        """Events the batch applied (its stream positions moved), counted on the checkpoint."""

    def load(self, streams: set[str]) -> WorkingSet:
        """The positions, orders, projects and waiting events of `streams`."""
        working = load_working_set(self._conn, self._generation, streams)
        self._orders = set(working.orders)
        self._projects = set(working.projects)
        self._positions = set(working.positions)
        return working

    def save(self, working: WorkingSet, before: Mapping[str, OrderFacts]) -> None:
        """Write back what changed, the samples and roll-up with it."""
        gen = self._generation
        self.applied += working.applied
        write_working_set(self._conn, gen, working, self._orders, self._projects, self._positions)
        write_samples(
            self._conn,
            gen,
            [(before.get(k), working.orders[k]) for k in sorted(working.changed_orders)],
        )
        write_notifications(self._conn, gen, working)
