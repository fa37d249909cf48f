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

The group then numbers its new orders in arrival order in memory and writes each changed
counter back in the same transaction. If the transaction rolls back, so do the counters,
so a number is given once committed, and only then; an append that fails inside the
one-by-one retry rolls back its savepoint and its numbers with it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable

from services.dispatch.adapters import tables as t
from services.dispatch.service_layer.ports import AppendBatch

CounterKey = tuple[str, str, str]
"""(tenant, project, local day as YYYYMMDD)."""

Counters = dict[CounterKey, int]
"""The last sequence given on each counter, as this transaction sees it."""


def counter_key(batch: AppendBatch) -> CounterKey | None:
    """The counter a batch's new work order is numbered from; None if it needs no number."""
    if batch.numbering is None:
        return None
    return (batch.tenant, batch.project, f"{batch.numbering.day:%Y%m%d}")


def lock_and_read(conn: Connection, batches: Iterable[AppendBatch]) -> Counters:
    """Lock the counter of every batch to be numbered (creating it at 0) and read it."""
    keys = sorted({key for b in batches if (key := counter_key(b)) is not None})
    statement = _lock_statement(conn.dialect.name)
    counters: Counters = {}
    for tenant, project, day in keys:
        last = conn.execute(statement, {"tenant": tenant, "project": project, "day": day})
        counters[(tenant, project, day)] = int(last.scalar_one())
    return counters


def take(batch: AppendBatch, counters: Counters) -> tuple[AppendBatch, str | None]:
    """`batch` with the next number of its counter in it (and that number), counted in
    `counters`; a batch that needs no number is returned as it is."""
    key = counter_key(batch)
    if key is None or batch.numbering is None:
        return batch, None
    counters[key] += 1
    number = batch.numbering.number(counters[key])
    return batch.with_number(number), number


def write(conn: Connection, stored: Counters, planned: Counters) -> None:
    """Write the counters `planned` advanced past what is `stored`; `stored` follows."""
    changed = [
        {"k_tenant": tenant, "k_project": project, "k_day": day, "k_last": last}
        for (tenant, project, day), last in sorted(planned.items())
        if stored.get((tenant, project, day)) != last
    ]
    if changed:
        conn.execute(_WRITE, changed)
    stored.update(planned)


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
