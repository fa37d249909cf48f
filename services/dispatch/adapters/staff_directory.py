"""The staff directory, rosters and dispatch rules in SQL, and the workload query.

Configuration tables, latest value wins (not event-sourced). Workload (open orders per
technician, when last assigned) is read from the `work_orders` listing view, which every
append keeps current, so it needs no bookkeeping of its own; the decisions waiting at
one moment share one read (`workload_reader`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Select, Table, and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.workload_reader import WorkloadReader
from services.dispatch.domain.assignment import (
    Availability,
    DispatchFacts,
    DispatchRule,
    Roster,
    StaffMember,
    StaffRecord,
    Team,
    TeamRecord,
    Workload,
    acceptance_limit,
    team_uses,
    unknown_team,
)
from services.dispatch.domain.sla import DEFAULT_TIME_ZONE
from services.dispatch.domain.workorder import WorkOrderState
from shared.database import Database
from shared.errors import Conflict, NotFound

RECORDS_CACHED = 10_000
"""Directory entries one process keeps between reads (each a few hundred bytes)."""

DEFAULT_CATEGORY = "*"
"""The rule of a project's categories that have none of their own."""


class SqlStaffDirectory:
    """`StaffDirectory` on dispatch's own tables, plus the management operations."""

    def __init__(
        self, engine: AsyncEngine, clock: Callable[[], datetime], cache_seconds: float = 2.0
    ) -> None:
        # Each read or write is one unit of work on `Database.run`: one thread hop on
        # SQLite instead of one per statement.
        self._db = Database(engine)
        self._now = clock
        self._cache_seconds = cache_seconds
        self._projects: dict[tuple[str, str], _ProjectSetup] = {}
        self._loading: dict[tuple[str, str], asyncio.Task[_ProjectSetup]] = {}
        # The people events name (a report's owner: often a receptionist outside the
        # project's own staff), absent ones included, kept as briefly as the setup.
        self._records: TTLCache[tuple[str, str], StaffRecord | None] = TTLCache(
            maxsize=RECORDS_CACHED, ttl=cache_seconds, timer=time.monotonic
        )
        self._workloads = WorkloadReader(self._db)

    def _cached(self, tenant: str, project: str) -> _ProjectSetup | None:
        # A dispatch decision needs a project's rules, staff and roster: configuration
        # that changes rarely. Reading it for every report cost more than the rest of the
        # decision at 200 reports/s, so it is kept for `cache_seconds`; writes through
        # this process drop it at once, writes through another process show within that
        # time. Real (monotonic) time on purpose: this is the process's staleness, not
        # domain time.
        entry = self._projects.get((tenant, project))
        if entry is None or time.monotonic() - entry.loaded_at > self._cache_seconds:
            return None
        return entry

    def _row(self, **values: Any) -> dict[str, Any]:
        """A configuration row: `values`, stamped with the time of the write."""
        return {**values, "updated_at": self._now()}

    def _forget(self, tenant: str) -> None:
        for key in [key for key in self._projects if key[0] == tenant]:
            del self._projects[key]
        for person in [person for person in self._records if person[0] == tenant]:
            self._records.pop(person, None)
        # A load under way may have read the setup before the change: it still answers
        # the decisions waiting for it, but is not kept.
        for key in [key for key in self._loading if key[0] == tenant]:
            del self._loading[key]

    def close(self) -> None:
        """Stop the workload reader; release the synchronous twin's connections on SQLite."""
        self._workloads.close()
        self._db.close()

    async def put_staff(self, tenant: str, staff_id: str, record: StaffRecord) -> StaffMember:
        """Create or replace a directory entry; a new person starts `off` duty."""
        member = await self._db.run(_put_staff, tenant, staff_id, record, self._now(), write=True)
        # After the write: a decision that read the old setup meanwhile must not keep it.
        self._forget(tenant)
        return member

    async def get_staff(self, tenant: str, staff_id: str) -> StaffMember | None:
        """One directory entry, if it exists."""
        return await self._db.run(_member, tenant, staff_id)

    async def list_staff(self, tenant: str, project: str | None) -> list[StaffMember]:
        """A tenant's staff, or those covering `project`, by id."""
        return await self._db.run(_members, tenant, project)

    async def set_availability(
        self, tenant: str, staff_id: str, availability: Availability
    ) -> StaffMember:
        """Record what a person says about their availability."""
        member = await self._db.run(
            _set_availability, tenant, staff_id, availability, self._now(), write=True
        )
        self._forget(tenant)
        return member

    async def put_roster(self, tenant: str, project: str, roster: Roster) -> None:
        """Replace a project's roster (shifts and on-call list)."""
        row = self._row(tenant=tenant, project=project, roster=roster.model_dump(mode="json"))
        await self._db.run(_put_roster, row, {shift.team for shift in roster.shifts}, write=True)
        self._forget(tenant)

    async def put_team(self, tenant: str, team_id: str, record: TeamRecord) -> Team:
        """Create or replace a team."""
        row = self._row(tenant=tenant, team_id=team_id, record=record.model_dump(mode="json"))
        await self._db.run(_upsert, t.teams, ["tenant", "team_id"], row, write=True)
        return Team(id=team_id, record=record)

    async def get_team(self, tenant: str, team_id: str) -> Team | None:
        """One team, if it exists."""
        return await self._db.run(_team, tenant, team_id)

    async def list_teams(self, tenant: str, project: str | None) -> list[Team]:
        """A tenant's teams, or those working in `project`, by id."""
        teams = await self._db.run(_teams_of, tenant)
        return [team for team in teams if project is None or project in team.record.projects]

    async def delete_team(self, tenant: str, team_id: str, projects: frozenset[str]) -> None:
        """Take a team out of `projects`, removing it once it works nowhere; 409
        `team_in_use` while a staff record or roster shift of those projects names it."""
        await self._db.run(_delete_team, tenant, team_id, projects, write=True)

    async def roster(self, tenant: str, project: str) -> Roster:
        """A project's roster (empty when none was written), in the project's time zone."""
        return await self._db.run(_roster, tenant, project)

    async def put_rule(self, tenant: str, project: str, category: str, rule: DispatchRule) -> None:
        """Set how `category` (or `*`, every other category) of a project is dispatched."""
        row = self._row(
            tenant=tenant, project=project, category=category, rule=rule.model_dump(mode="json")
        )
        keys = ["tenant", "project", "category"]
        await self._db.run(_upsert, t.dispatch_rules, keys, row, write=True)
        self._forget(tenant)

    async def rules(self, tenant: str, project: str) -> dict[str, DispatchRule]:
        """A project's dispatch rules by category."""
        return await self._db.run(_rules, tenant, project)

    async def rule_for(self, tenant: str, project: str, category: str) -> DispatchRule | None:
        """The rule of `category`, else the project's `*` rule, else None (by hand)."""
        return await self._db.run(_rule, tenant, project, category)

    async def workloads(self, tenant: str, staff_ids: Iterable[str]) -> dict[str, Workload]:
        """Open orders and last assignment time of each person (absent: none, never)."""
        return await self._workloads.workloads(tenant, staff_ids)

    async def records_of(
        self, tenant: str, project: str, staff_ids: set[str]
    ) -> dict[str, StaffRecord]:
        """The directory entry of each of these people who is in the directory.

        The project's staff as cached for dispatch decisions answer first (an acceptance
        right after an offer needs no query); anyone else is read from the table and kept
        as long (whether found or not), so a receptionist's reports read it once.
        """
        setup = self._cached(tenant, project)
        known = {m.id: m.record for m in setup.staff} if setup is not None else {}
        records = {person: known[person] for person in staff_ids if person in known}
        missing: list[str] = []
        for person in sorted(staff_ids - records.keys()):
            if (tenant, person) not in self._records:
                missing.append(person)
            elif (record := self._records.get((tenant, person))) is not None:
                records[person] = record
        if missing:
            found = await self._db.run(_records, tenant, missing)
            for person in missing:
                self._records[(tenant, person)] = found.get(person)
            records |= found
        return records

    async def dispatch_facts(
        self, tenant: str, project: str, category: str
    ) -> DispatchFacts | None:
        """Everything one dispatch decision ranks: the project's setup (cached briefly)
        and the workloads, which are always read fresh."""
        setup = await self._setup(tenant, project)
        rule = setup.rule_for(category)
        if rule is None:
            return None
        workloads = await self._workloads.workloads(tenant, (m.id for m in setup.staff))
        return DispatchFacts(rule=rule, staff=setup.staff, roster=setup.roster, workloads=workloads)

    async def acceptance_limit(
        self, tenant: str, project: str, state: WorkOrderState, staff_id: str
    ) -> int | None:
        """The load limit of `staff_id` accepting the order in `state`, from the project's
        setup as dispatch decisions see it (the person's own, else the category's rule)."""
        setup = await self._setup(tenant, project)
        member = next((m for m in setup.staff if m.id == staff_id), None)
        return acceptance_limit(member, setup.rule_for(state.category), state.urgency)

    async def reception(self, tenant: str, project: str) -> tuple[list[StaffMember], Roster]:
        """The project's staff and roster (cached briefly, as for dispatch decisions)."""
        setup = await self._setup(tenant, project)
        return setup.staff, setup.roster

    async def _setup(self, tenant: str, project: str) -> _ProjectSetup:
        return self._cached(tenant, project) or await self._load_setup(tenant, project)

    async def _load_setup(self, tenant: str, project: str) -> _ProjectSetup:
        # One load per project at a time: when the cached setup runs out, the decisions
        # arriving meanwhile (ten a second per project in the benchmark) wait for the
        # same read instead of each starting its own.
        key = (tenant, project)
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.create_task(self._db.run(_project_setup, tenant, project))
            self._loading[key] = loading
            loading.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(loading)

    def _loaded(self, key: tuple[str, str], done: asyncio.Task[_ProjectSetup]) -> None:
        if self._loading.get(key) is not done:
            return  # forgotten meanwhile (a change was written)
        del self._loading[key]
        if not done.cancelled() and done.exception() is None:
            self._projects[key] = done.result()


@dataclass(frozen=True, slots=True)
class _ProjectSetup:
    rules: dict[str, DispatchRule]
    staff: list[StaffMember]
    roster: Roster
    loaded_at: float

    def rule_for(self, category: str) -> DispatchRule | None:
        """The rule of `category`, else the project's `*` rule, else None (by hand)."""
        return self.rules.get(category, self.rules.get(DEFAULT_CATEGORY))


def _project_setup(conn: Connection, tenant: str, project: str) -> _ProjectSetup:
    return _ProjectSetup(
        rules=_rules(conn, tenant, project),
        staff=_members(conn, tenant, project),
        roster=_roster(conn, tenant, project),
        loaded_at=time.monotonic(),
    )


def _put_staff(
    conn: Connection, tenant: str, staff_id: str, record: StaffRecord, now: datetime
) -> StaffMember:
    _require_teams(conn, tenant, {record.team})
    current = _member(conn, tenant, staff_id)
    availability = current.availability if current else Availability.OFF
    row = {
        "tenant": tenant,
        "staff_id": staff_id,
        "record": record.model_dump(mode="json"),
        "availability": availability.value,
        "updated_at": now,
    }
    _upsert(conn, t.staff, ["tenant", "staff_id"], row)
    sp = t.staff_projects.c
    conn.execute(delete(t.staff_projects).where(sp.tenant == tenant, sp.staff_id == staff_id))
    conn.execute(
        insert(t.staff_projects),
        [{"tenant": tenant, "project": p, "staff_id": staff_id} for p in sorted(record.projects)],
    )
    return StaffMember(id=staff_id, record=record, availability=availability)


def _require_teams(conn: Connection, tenant: str, team_ids: set[str]) -> None:
    """Refuse (422 `unknown_team`) names of teams that do not exist.

    The rows are locked (PostgreSQL) until the caller's write commits, so a team being
    deleted meanwhile either waits for this write, and then sees it in use, or is gone
    before this check.
    """
    if not team_ids:
        return
    c = t.teams.c
    query = (
        select(c.team_id)
        .where(c.tenant == tenant, c.team_id.in_(sorted(team_ids)))
        .order_by(c.team_id)
        .with_for_update()
    )
    missing = team_ids - set(conn.scalars(query).all())
    if missing:
        raise unknown_team(missing)


def _put_roster(conn: Connection, row: dict[str, Any], team_ids: set[str]) -> None:
    _require_teams(conn, row["tenant"], team_ids)
    _upsert(conn, t.rosters, ["tenant", "project"], row)


def _team(conn: Connection, tenant: str, team_id: str) -> Team | None:
    c = t.teams.c
    record = conn.scalar(select(c.record).where(c.tenant == tenant, c.team_id == team_id))
    return Team(id=team_id, record=TeamRecord.model_validate(record)) if record else None


def _teams_of(conn: Connection, tenant: str) -> list[Team]:
    c = t.teams.c
    query = select(c.team_id, c.record).where(c.tenant == tenant).order_by(c.team_id)
    return [
        Team(id=team_id, record=TeamRecord.model_validate(record))
        for team_id, record in conn.execute(query).all()
    ]


def _delete_team(conn: Connection, tenant: str, team_id: str, projects: frozenset[str]) -> None:
    c = t.teams.c
    key = (c.tenant == tenant, c.team_id == team_id)
    team = _team(conn, tenant, team_id)
    if team is None:
        raise NotFound(f"no team {team_id!r}", code="unknown_team")
    remaining = team.record.projects - projects
    # Writing first takes the row's lock, so a staff or roster write checking the team
    # waits for this transaction (see `_require_teams`); an error below undoes it.
    if remaining:
        record = team.record.model_copy(update={"projects": remaining})
        conn.execute(update(t.teams).where(*key).values(record=record.model_dump(mode="json")))
    else:
        conn.execute(delete(t.teams).where(*key))
    leaving = team.record.projects - remaining
    s, r = t.staff.c, t.rosters.c
    # Only what works in the projects the team leaves may hold it back (and be named).
    staff_teams = {
        staff_id: record["team"]
        for staff_id, record in conn.execute(
            select(s.staff_id, s.record).where(s.tenant == tenant)
        ).all()
        if leaving & set(record.get("projects", ()))
    }
    roster_teams = {
        project: {shift["team"] for shift in roster.get("shifts", ())}
        for project, roster in conn.execute(
            select(r.project, r.roster).where(r.tenant == tenant)
        ).all()
        if project in leaving
    }
    uses = team_uses(team_id, staff_teams, roster_teams)
    if uses:
        shown = ", ".join(uses[:10]) + (f" and {len(uses) - 10} more" if len(uses) > 10 else "")
        raise Conflict(f"team {team_id!r} is still named by {shown}", code="team_in_use")


def _set_availability(
    conn: Connection, tenant: str, staff_id: str, availability: Availability, now: datetime
) -> StaffMember:
    current = _member(conn, tenant, staff_id)
    if current is None:
        raise NotFound(f"no staff member {staff_id!r}", code="unknown_staff")
    c = t.staff.c
    conn.execute(
        t.staff.update()
        .where(c.tenant == tenant, c.staff_id == staff_id)
        .values(availability=availability.value, updated_at=now)
    )
    return current.model_copy(update={"availability": availability})


def _rules(conn: Connection, tenant: str, project: str) -> dict[str, DispatchRule]:
    c = t.dispatch_rules.c
    query = select(c.category, c.rule).where(c.tenant == tenant, c.project == project)
    rows = conn.execute(query).all()
    return {category: DispatchRule.model_validate(rule) for category, rule in rows}


_PARSED_LIMIT = 20_000
_parsed: dict[tuple[str, str, datetime], tuple[dict[str, Any], StaffRecord]] = {}
"""Directory records already validated, by (tenant, staff id, updated_at), with the JSON they
came from: a dispatch decision reads a project's whole staff, and validating every record
each time showed in the benchmark. The JSON is compared too (a dict comparison, far
cheaper than validating), because two writes may carry the same `updated_at` (a clock
that stands still, as in tests, or two databases of one process)."""


def _as_member(row: Any) -> StaffMember:
    key = (row.tenant, row.staff_id, row.updated_at)
    cached = _parsed.get(key)
    if cached is not None and cached[0] == row.record:
        record = cached[1]
    else:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        record = StaffRecord.model_validate(row.record)
        _parsed[key] = (row.record, record)
    return StaffMember(id=row.staff_id, record=record, availability=Availability(row.availability))


def _staff_query(tenant: str) -> Select[Any]:
    c = t.staff.c
    return select(c.tenant, c.staff_id, c.record, c.availability, c.updated_at).where(
        c.tenant == tenant
    )


def _member(conn: Connection, tenant: str, staff_id: str) -> StaffMember | None:
    query = _staff_query(tenant).where(t.staff.c.staff_id == staff_id)
    row = conn.execute(query).first()
    return _as_member(row) if row is not None else None


def _members(conn: Connection, tenant: str, project: str | None) -> list[StaffMember]:
    c = t.staff.c
    query = _staff_query(tenant)
    if project is not None:
        sp = t.staff_projects.c
        query = query.join(
            t.staff_projects, and_(sp.tenant == c.tenant, sp.staff_id == c.staff_id)
        ).where(sp.project == project)
    rows = conn.execute(query.order_by(c.staff_id)).all()
    return [_as_member(row) for row in rows]


def _records(conn: Connection, tenant: str, staff_ids: list[str]) -> dict[str, StaffRecord]:
    query = _staff_query(tenant).where(t.staff.c.staff_id.in_(staff_ids))
    return {row.staff_id: _as_member(row).record for row in conn.execute(query).all()}


def _roster(conn: Connection, tenant: str, project: str) -> Roster:
    r, p = t.rosters.c, t.projects.c
    found = conn.scalar(select(r.roster).where(r.tenant == tenant, r.project == project))
    zone = conn.scalar(select(p.time_zone).where(p.tenant == tenant, p.project == project))
    roster = Roster.model_validate(found) if found is not None else Roster()
    return roster.in_zone(zone or DEFAULT_TIME_ZONE)


def _rule(conn: Connection, tenant: str, project: str, category: str) -> DispatchRule | None:
    c = t.dispatch_rules.c
    query = select(c.category, c.rule).where(
        c.tenant == tenant, c.project == project, c.category.in_([category, DEFAULT_CATEGORY])
    )
    rules = dict(conn.execute(query).all())
    found = rules.get(category, rules.get(DEFAULT_CATEGORY))
    return DispatchRule.model_validate(found) if found is not None else None


def _upsert(conn: Connection, table: Table, keys: list[str], row: dict[str, Any]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {name: statement.excluded[name] for name in row if name not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), row)
