"""Read queries on dispatch's inline views: the project registry and the work-order list."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from shared.errors import InvalidInput
from shared.events.project import ProjectDetails
from shared.inputs import check_instant


class SqlProjectDirectory:
    """`ProjectDirectory` on the `projects` view, caching the projects known to exist.

    Projects are never deleted, so a positive answer can be cached for the life of the
    process; a negative one is asked again next time (another instance may register it).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._known: set[tuple[str, str]] = set()

    async def exists(self, tenant: str, project: str) -> bool:
        """Whether `project` is registered for `tenant`."""
        if (tenant, project) in self._known:
            return True
        query = select(t.projects.c.project).where(
            and_(t.projects.c.tenant == tenant, t.projects.c.project == project)
        )
        async with self._engine.connect() as conn:
            found = await conn.scalar(query)
        if found is not None:
            self._known.add((tenant, project))
        return found is not None

    def remember(self, tenant: str, project: str) -> None:
        """Cache a project registered by this process."""
        self._known.add((tenant, project))

    async def details(self, tenant: str, project: str) -> ProjectDetails | None:
        """The project's registered facts, read each time (a project's name or code may
        have changed since the last report)."""
        query = select(t.projects.c.details).where(
            and_(t.projects.c.tenant == tenant, t.projects.c.project == project)
        )
        async with self._engine.connect() as conn:
            found = await conn.scalar(query)
        if found is None:
            return None
        self._known.add((tenant, project))
        return ProjectDetails.model_validate(found)

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
