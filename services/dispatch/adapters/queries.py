"""Read queries on dispatch's inline views: the project registry and the work-order list."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cachetools import TTLCache
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.sla_policies import CACHE_TTL_SECONDS
from shared.errors import InvalidInput
from shared.events.project import ProjectDetails
from shared.inputs import check_instant

PROJECTS_CACHED = 100_000
"""Projects whose facts one process keeps (a group of 5,000 projects fits many times)."""

# Built once: building the statement showed in a report's profile beside running it.
_DETAILS = select(t.projects.c.details).where(
    t.projects.c.tenant == bindparam("tenant"), t.projects.c.project == bindparam("project")
)


class SqlProjectDirectory:
    """`ProjectDirectory` on the `projects` view, with each project's facts cached briefly.

    A report needs its project's facts (name, code, buildings, time zone); reading them
    for every report was a tenth of a report's time. A project changed through this
    process is cached anew at once; one changed through another dispatch process is seen
    here once the cached copy is older than `ttl_seconds` (until then a report names the
    project, building or number code as they were). An unknown project is asked again each
    time: another instance may have just registered it.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl_seconds: float = CACHE_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._details: TTLCache[tuple[str, str], ProjectDetails] = TTLCache(
            maxsize=PROJECTS_CACHED, ttl=ttl_seconds, timer=monotonic
        )

    async def exists(self, tenant: str, project: str) -> bool:
        """Whether `project` is registered for `tenant`."""
        return await self.details(tenant, project) is not None

    def remember(self, tenant: str, project: str, details: ProjectDetails) -> None:
        """Cache the facts of a project this process has just registered or changed."""
        self._details[(tenant, project)] = details

    async def details(self, tenant: str, project: str) -> ProjectDetails | None:
        """The project's registered facts (cached for up to `ttl_seconds`)."""
        cached = self._details.get((tenant, project))
        if cached is not None:
            return cached
        async with self._engine.connect() as conn:
            found = await conn.scalar(_DETAILS, {"tenant": tenant, "project": project})
        if found is None:
            return None
        details = ProjectDetails.model_validate(found)
        self._details[(tenant, project)] = details
        return details

    async def list(self, tenant: str, projects: frozenset[str] | None) -> list[dict[str, Any]]:
        """Registered projects of a tenant, restricted to `projects` unless None (all)."""
        query = (
            select(t.projects).where(t.projects.c.tenant == tenant).order_by(t.projects.c.project)
        )
        if projects is not None:
            query = query.where(t.projects.c.project.in_(sorted(projects)))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [{"tenant": r["tenant"], "project": r["project"], **r["details"]} for r in rows]


@dataclass(frozen=True, slots=True)
class WorkOrderFilter:
    """Filters of `GET /v1/work-orders`; `projects` None means every project of the tenant."""

    tenant: str
    projects: frozenset[str] | None
    project: str | None = None
    status: str | None = None
    kind: str | None = None
    assignee: str | None = None
    owner: str | None = None
    offered_to: str | None = None
    reporter_resident_id: str | None = None
    number: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None


def encode_cursor(reported_at: datetime, work_order_id: str) -> str:
    """An opaque cursor after the given row (newest first order)."""
    return base64.urlsafe_b64encode(orjson.dumps([reported_at.isoformat(), work_order_id])).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Parse a cursor from `encode_cursor`, refusing anything else with a clear error."""
    try:
        reported_at, work_order_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        # A cursor is input like any other: its time needs a zone, its id plain text.
        if not (isinstance(work_order_id, str) and work_order_id.isprintable()):
            raise ValueError("the cursor's id is not one this API wrote")
        return check_instant(datetime.fromisoformat(reported_at)), work_order_id
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidInput(
            "the cursor is not one this API returned", code="invalid_cursor"
        ) from None


async def list_work_orders(
    engine: AsyncEngine, where: WorkOrderFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of work orders, newest report first, and the cursor of the next page."""
    c = t.work_orders.c
    conditions = [c.tenant == where.tenant]
    if where.projects is not None:
        conditions.append(c.project.in_(sorted(where.projects)))
    for column, value in (
        (c.project, where.project),
        (c.status, where.status),
        (c.kind, where.kind),
        (c.assignee, where.assignee),
        (c.owner, where.owner),
        (c.reporter_resident_id, where.reporter_resident_id),
        (c.number, where.number),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.offered_to is not None:
        conditions.append(c.offered_to.like(f"%,{_like_literal(where.offered_to)},%", escape="\\"))
    if where.reported_from is not None:
        conditions.append(c.reported_at >= where.reported_from)
    if where.reported_to is not None:
        conditions.append(c.reported_at < where.reported_to)
    if cursor is not None:
        after_time, after_id = decode_cursor(cursor)
        conditions.append(
            or_(c.reported_at < after_time, and_(c.reported_at == after_time, c.id < after_id))
        )
    query = (
        select(c.id, c.reported_at, c.summary, c.version)
        .where(and_(*conditions))
        .order_by(c.reported_at.desc(), c.id.desc())
        .limit(limit + 1)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    page = rows[:limit]
    next_cursor = (
        encode_cursor(page[-1]["reported_at"], page[-1]["id"]) if len(rows) > limit else None
    )
    return [{**r["summary"], "version": r["version"]} for r in page], next_cursor


def _like_literal(value: str) -> str:
    """`value` matched literally inside a LIKE pattern (escape character: backslash)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
