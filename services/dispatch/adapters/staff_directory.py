"""The staff directory, rosters and dispatch rules in SQL, and the workload query.

Configuration tables, latest value wins (not event-sourced). Workload (open orders per
technician, when last assigned) is read from the `work_orders` listing view, which every
append keeps current, so it needs no bookkeeping of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.assignment import DispatchFacts, DispatchRule, Workload
from services.dispatch.domain.calendar import DEFAULT_TIME_ZONE
from services.dispatch.domain.roster import Roster
from services.dispatch.domain.staff import Availability, StaffMember, StaffRecord
from services.dispatch.domain.workorder_state import OPEN_STATUSES
from shared.errors import NotFound

DEFAULT_CATEGORY = "*"
"""The rule of a project's categories that have none of their own."""

_OPEN = sorted(status.value for status in OPEN_STATUSES)


class SqlStaffDirectory:
    """`StaffDirectory` on dispatch's own tables, plus the management operations."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = clock

    async def put_staff(self, tenant: str, staff_id: str, record: StaffRecord) -> StaffMember:
        """Create or replace a directory entry; a new person starts `off` duty."""
        async with self._engine.begin() as conn:
            current = await _member(conn, tenant, staff_id)
            availability = current.availability if current else Availability.OFF
            row = {
                "tenant": tenant,
                "staff_id": staff_id,
                "record": record.model_dump(mode="json"),
                "availability": availability.value,
                "updated_at": self._now(),
            }
            await _upsert(conn, t.staff, ["tenant", "staff_id"], row)
            sp = t.staff_projects.c
            await conn.execute(
                delete(t.staff_projects).where(sp.tenant == tenant, sp.staff_id == staff_id)
            )
            await conn.execute(
                insert(t.staff_projects),
                [
                    {"tenant": tenant, "project": p, "staff_id": staff_id}
                    for p in sorted(record.projects)
                ],
            )
        return StaffMember(id=staff_id, record=record, availability=availability)

    async def get_staff(self, tenant: str, staff_id: str) -> StaffMember | None:
        """One directory entry, if it exists."""
        async with self._engine.connect() as conn:
            return await _member(conn, tenant, staff_id)

    async def list_staff(self, tenant: str, project: str | None) -> list[StaffMember]:
        """A tenant's staff, or those covering `project`, by id."""
        async with self._engine.connect() as conn:
            return await _members(conn, tenant, project)

    async def set_availability(
        self, tenant: str, staff_id: str, availability: Availability
    ) -> StaffMember:
        """Record what a person says about their availability."""
        async with self._engine.begin() as conn:
            current = await _member(conn, tenant, staff_id)
            if current is None:
                raise NotFound(f"no staff member {staff_id!r}", code="unknown_staff")
            c = t.staff.c
            await conn.execute(
                t.staff.update()
                .where(c.tenant == tenant, c.staff_id == staff_id)
                .values(availability=availability.value, updated_at=self._now())
            )
        return current.model_copy(update={"availability": availability})

    async def put_roster(self, tenant: str, project: str, roster: Roster) -> None:
        """Replace a project's roster (shifts and on-call list)."""
        row = {
            "tenant": tenant,
            "project": project,
            "roster": roster.model_dump(mode="json"),
            "updated_at": self._now(),
        }
        async with self._engine.begin() as conn:
            await _upsert(conn, t.rosters, ["tenant", "project"], row)

    async def roster(self, tenant: str, project: str) -> Roster:
        """A project's roster (empty when none was written), in the project's time zone."""
        async with self._engine.connect() as conn:
            return await _roster(conn, tenant, project)

    async def put_rule(self, tenant: str, project: str, category: str, rule: DispatchRule) -> None:
        """Set how `category` (or `*`, every other category) of a project is dispatched."""
        row = {
            "tenant": tenant,
            "project": project,
            "category": category,
            "rule": rule.model_dump(mode="json"),
            "updated_at": self._now(),
        }
        async with self._engine.begin() as conn:
            await _upsert(conn, t.dispatch_rules, ["tenant", "project", "category"], row)

    async def rules(self, tenant: str, project: str) -> dict[str, DispatchRule]:
        """A project's dispatch rules by category."""
        c = t.dispatch_rules.c
        query = select(c.category, c.rule).where(c.tenant == tenant, c.project == project)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {category: DispatchRule.model_validate(rule) for category, rule in rows}

    async def rule_for(self, tenant: str, project: str, category: str) -> DispatchRule | None:
        """The rule of `category`, else the project's `*` rule, else None (by hand)."""
        async with self._engine.connect() as conn:
            return await _rule(conn, tenant, project, category)

    async def workloads(self, tenant: str, staff_ids: Iterable[str]) -> dict[str, Workload]:
        """Open orders and last assignment time of each person (absent: none, never)."""
        async with self._engine.connect() as conn:
            return await _workloads(conn, tenant, staff_ids)

    async def dispatch_facts(
        self, tenant: str, project: str, category: str
    ) -> DispatchFacts | None:
        """Everything one dispatch decision ranks, read on one connection."""
        async with self._engine.connect() as conn:
            rule = await _rule(conn, tenant, project, category)
            if rule is None:
                return None
            staff = await _members(conn, tenant, project)
            roster = await _roster(conn, tenant, project)
            workloads = await _workloads(conn, tenant, (m.id for m in staff))
        return DispatchFacts(rule=rule, staff=staff, roster=roster, workloads=workloads)


def _as_member(row: Any) -> StaffMember:
    return StaffMember(
        id=row.staff_id,
        record=StaffRecord.model_validate(row.record),
        availability=Availability(row.availability),
    )


async def _member(conn: AsyncConnection, tenant: str, staff_id: str) -> StaffMember | None:
    c = t.staff.c
    query = select(c.staff_id, c.record, c.availability).where(
        c.tenant == tenant, c.staff_id == staff_id
    )
    row = (await conn.execute(query)).first()
    return _as_member(row) if row is not None else None


async def _members(conn: AsyncConnection, tenant: str, project: str | None) -> list[StaffMember]:
    c = t.staff.c
    query = select(c.staff_id, c.record, c.availability).where(c.tenant == tenant)
    if project is not None:
        sp = t.staff_projects.c
        query = query.join(
            t.staff_projects, and_(sp.tenant == c.tenant, sp.staff_id == c.staff_id)
        ).where(sp.project == project)
    rows = (await conn.execute(query.order_by(c.staff_id))).all()
    return [_as_member(row) for row in rows]


async def _roster(conn: AsyncConnection, tenant: str, project: str) -> Roster:
    r, p = t.rosters.c, t.projects.c
    found = await conn.scalar(select(r.roster).where(r.tenant == tenant, r.project == project))
    zone = await conn.scalar(select(p.time_zone).where(p.tenant == tenant, p.project == project))
    roster = Roster.model_validate(found) if found is not None else Roster()
    return roster.in_zone(zone or DEFAULT_TIME_ZONE)


async def _rule(
    conn: AsyncConnection, tenant: str, project: str, category: str
) -> DispatchRule | None:
    c = t.dispatch_rules.c
    query = select(c.category, c.rule).where(
        c.tenant == tenant, c.project == project, c.category.in_([category, DEFAULT_CATEGORY])
    )
    rules = dict((await conn.execute(query)).all())
    found = rules.get(category, rules.get(DEFAULT_CATEGORY))
    return DispatchRule.model_validate(found) if found is not None else None


async def _workloads(
    conn: AsyncConnection, tenant: str, staff_ids: Iterable[str]
) -> dict[str, Workload]:
    ids = sorted(set(staff_ids))
    if not ids:
        return {}
    c = t.work_orders.c
    query = (
        select(
            c.assignee,
            func.count().filter(c.status.in_(_OPEN)),
            func.max(c.assigned_at),
        )
        .where(c.tenant == tenant, c.assignee.in_(ids))
        .group_by(c.assignee)
    )
    rows = (await conn.execute(query)).all()
    return {assignee: Workload(int(n or 0), last) for assignee, n, last in rows}


async def _upsert(
    conn: AsyncConnection, table: Table, keys: list[str], row: dict[str, Any]
) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {name: statement.excluded[name] for name in row if name not in keys}
    await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), row)
