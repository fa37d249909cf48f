"""Group read of workloads: one query answers every dispatch decision waiting for one.

Each dispatch decision ranks technicians by their open work, which must be read fresh
from the database: another dispatch process may have assigned work a moment ago, and
the load limit must hold across processes. Read one decision at a time, that cost a
transaction of its own per report (pool checkout, BEGIN, SELECT, COMMIT: four round
trips, each waiting its turn on a busy event loop), which was most of the PostgreSQL
tail at 200 reports/s. Like the group commit of the appends, one reader task takes all
requests queued and answers them with one query in one transaction.

Freshness is the same as reading alone: a request's query starts after the request was
made, so it sees everything committed before the decision asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import Histogram
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.load_plan import OPEN
from services.dispatch.domain.assignment import Workload
from shared.database import Database
from shared.grouped import Grouped

READ_GROUP_SIZE = Histogram(
    "dispatch_workload_read_group_size",
    "Dispatch decisions answered by one workload query",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


Asked = tuple[str, frozenset[str]]
"""One decision's question: whose workloads (tenant, staff ids)."""


class WorkloadReader:
    """Reads open orders and last assignment times for many decisions at once."""

    def __init__(self, database: Database, max_group: int = 256) -> None:
        self._database = database
        self._reader: Grouped[Asked, dict[str, Workload]] = Grouped(
            self._read, max_group=max_group, name="workload-reader"
        )

    async def workloads(self, tenant: str, staff_ids: Iterable[str]) -> dict[str, Workload]:
        """Open orders and last assignment of each person (absent: none, never)."""
        ids = frozenset(staff_ids)
        if not ids:
            return {}
        return await self._reader.submit((tenant, ids))

    def close(self) -> None:
        """Stop the reader task (decisions still waiting are cancelled with it)."""
        self._reader.cancel()

    async def _read(self, group: list[Asked]) -> list[dict[str, Workload]]:
        READ_GROUP_SIZE.observe(len(group))
        wanted: dict[str, set[str]] = {}
        for tenant, ids in group:
            wanted.setdefault(tenant, set()).update(ids)
        found = await self._database.run(read_workloads, wanted)
        return [
            {person: found[tenant][person] for person in ids if person in found.get(tenant, {})}
            for tenant, ids in group
        ]


def read_workloads(
    conn: Connection, wanted: Mapping[str, Iterable[str]]
) -> dict[str, dict[str, Workload]]:
    """Per tenant, the open orders and last assignment time of each person asked for who
    has ever been assigned (others are absent: no open orders, never assigned)."""
    found: dict[str, dict[str, Workload]] = {}
    # One statement per tenant (a group is nearly always one tenant's), built once.
    for tenant, ids in sorted(wanted.items()):
        if not ids:
            continue
        rows = conn.execute(_WORKLOADS, {"tenant": tenant, "ids": sorted(set(ids))}).all()
        found[tenant] = {person: Workload(int(n or 0), last) for person, n, last in rows}
    return found


_c = t.work_orders.c
_WORKLOADS = (
    select(_c.assignee, func.count().filter(_c.status.in_(OPEN)), func.max(_c.assigned_at))
    .where(_c.tenant == bindparam("tenant"), _c.assignee.in_(bindparam("ids", expanding=True)))
    .group_by(_c.assignee)
)
