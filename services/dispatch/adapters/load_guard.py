"""The load limit of acceptances, held inside the group commit's transaction.

An acceptance decided under the limit may still go over it when the same person accepts
another order at the same moment (grab mode offers one person many orders), through this
process or another. So the count is taken where the acceptance is written: in the
append's transaction, after the person's lock is taken.

- PostgreSQL: a transaction-scoped advisory lock per (tenant, person), taken for every
  guarded person of the group in sorted order before anything is written, so two
  processes' groups serialize on a person without deadlocking on each other. The open
  orders are read after the lock, so they include every commit before it. Both happen
  in one call of `dispatch_lock_and_read_loads` (migration 0007): one round trip instead
  of two inside the group commit, whose every append waits for it.
- SQLite: the group's transaction is already the database's only writer (BEGIN IMMEDIATE).

The comparison with the limit is the domain's (`load_limit_refusal`), made for the group
by `load_plan`; this module only locks and reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.load_plan import OPEN, LoadPlan, Loads, guarded_people
from services.dispatch.service_layer.ports import AppendBatch

_LOCK_AND_READ = text(
    "SELECT o_tenant, o_assignee, o_id FROM dispatch_lock_and_read_loads("
    "CAST(:keys AS bigint[]), CAST(:tenants AS text[]), CAST(:people AS text[]),"
    " CAST(:statuses AS text[]))"
)


def open_loads(conn: Connection, batches: Sequence[AppendBatch]) -> LoadPlan:
    """The load guard's part in a group: its people locked and their loads read."""
    return LoadPlan(lock_and_read(conn, batches))


def lock_and_read(conn: Connection, batches: Iterable[AppendBatch]) -> Loads:
    """Lock every guarded person of `batches` and read their open work orders."""
    people = guarded_people(batches)
    if not people:
        return {}
    loads: Loads = {key: set() for key in people}
    for tenant, assignee, work_order_id in _open_orders(conn, people):
        loads[(tenant, assignee)].add(work_order_id)
    return loads


def _open_orders(conn: Connection, people: list[tuple[str, str]]) -> Iterable[Sequence[str]]:
    """(tenant, person, work order id) of each open order of `people`; on PostgreSQL, after
    their locks are taken."""
    if conn.dialect.name == "postgresql":
        params = {
            "keys": sorted(lock_key(tenant, person) for tenant, person in people),
            "tenants": [tenant for tenant, _ in people],
            "people": [person for _, person in people],
            "statuses": OPEN,
        }
        return conn.execute(_LOCK_AND_READ, params).all()
    # SQLite: the group's transaction is already the only writer, so no lock is needed.
    by_tenant: dict[str, list[str]] = {}
    for tenant, person in people:
        by_tenant.setdefault(tenant, []).append(person)
    return [
        (tenant, assignee, work_order_id)
        for tenant, persons in by_tenant.items()
        for assignee, work_order_id in conn.execute(
            _OPEN_ORDERS, {"tenant": tenant, "people": persons}
        )
    ]


_c = t.work_orders.c
# Built once (a group is nearly always one tenant's): building a statement per group
# showed in the profile of the group commit, next to running it.
_OPEN_ORDERS = select(_c.assignee, _c.id).where(
    _c.tenant == bindparam("tenant"),
    _c.assignee.in_(bindparam("people", expanding=True)),
    _c.status.in_(OPEN),
)


def lock_key(tenant: str, person: str) -> int:
    """The PostgreSQL advisory lock key of a person's load (a stable signed 64-bit hash).

    A collision only makes two people's acceptances wait for each other."""
    digest = hashlib.blake2b(f"load\0{tenant}\0{person}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
