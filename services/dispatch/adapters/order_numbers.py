"""Work-order numbers, allocated inside the group commit's transaction.

A number is the next value of a counter row per (tenant, project, local day), never a
count of existing orders: a count taken by two transactions at once gives both the same
answer. The row is created if missing and locked in one statement (`INSERT … ON CONFLICT
DO UPDATE … RETURNING`), for every counter a group needs, in sorted order, before any
other row is written:

- PostgreSQL: the conflicting update takes the row's lock, waiting for another process
  that holds it, and returns the value that process committed; the sorted order keeps
  two processes' groups from deadlocking on each other.
- SQLite: the group's transaction is already the database's only writer.

The group then numbers its new orders in arrival order in memory (`number_plan`) and
writes each changed counter back in the same transaction. If the transaction rolls back, so do the counters,
so a number is given once committed, and only then; an append that fails inside the
one-by-one retry rolls back its savepoint and its numbers with it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.number_plan import Counters, NumberPlan, counter_keys
from services.dispatch.service_layer.ports import AppendBatch


def open_counters(conn: Connection, batches: Sequence[AppendBatch]) -> NumberPlan:
    """The numbering's part in a group: its counters locked and read, written back by it."""
    return NumberPlan(lock_and_read(conn, batches), lambda changed: write(conn, changed))


def lock_and_read(conn: Connection, batches: Iterable[AppendBatch]) -> Counters:
    """Lock the counter of every batch to be numbered (creating it at 0) and read it."""
    statement = _lock_statement(conn.dialect.name)
    counters: Counters = {}
    for tenant, project, day in counter_keys(batches):
        last = conn.execute(statement, {"tenant": tenant, "project": project, "day": day})
        counters[(tenant, project, day)] = int(last.scalar_one())
    return counters


def write(conn: Connection, changed: Counters) -> None:
    """Write the counters a group advanced (their rows are locked already)."""
    rows = [
        {"k_tenant": tenant, "k_project": project, "k_day": day, "k_last": last}
        for (tenant, project, day), last in sorted(changed.items())
    ]
    conn.execute(_WRITE, rows)


_c = t.work_order_counters.c
_WRITE = (
    update(t.work_order_counters)
    .where(
        _c.tenant == bindparam("k_tenant"),
        _c.project == bindparam("k_project"),
        _c.day == bindparam("k_day"),
    )
    .values(last=bindparam("k_last"))
)


@functools.cache
def _lock_statement(dialect_name: str) -> Executable:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(t.work_order_counters).values(
        tenant=bindparam("tenant"), project=bindparam("project"), day=bindparam("day"), last=0
    )
    # Updating the row to itself is what takes its lock (DO NOTHING would not, nor
    # return the row); RETURNING gives the value the last committed writer left.
    # Both dialects' inserts build the same statement; typed through the annotation
    # because the dialect module is chosen at run time.
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=[_c.tenant, _c.project, _c.day], set_={"last": _c.last}
    ).returning(_c.last)
    return upsert
