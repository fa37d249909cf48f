"""The follow-up visits customer service still owes in a project's month (回访)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.follow_ups import completed_repairs, project_time_zone
from services.dispatch.domain.sla import plan_for
from services.dispatch.service_layer.sla import SlaPolicies
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound

MAY_PLAN_FOLLOW_UPS = frozenset(
    {Role.CUSTOMER_SERVICE, Role.SUPERVISOR, Role.PROJECT_MANAGER, Role.HQ_QUALITY}
)
"""Customer service makes the visits; supervisors, managers and headquarters check them."""


def month_bounds(month: str | None, time_zone: str, now: datetime) -> tuple[date, date]:
    """The first day of `month` (`YYYY-MM`, default: this month in the zone) and of the next."""
    if month is None:
        today = now.astimezone(ZoneInfo(time_zone)).date()
        first = today.replace(day=1)
    else:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


async def follow_ups_owed(
    engine: AsyncEngine,
    policies: SlaPolicies,
    principal: Principal,
    project: str,
    month: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The body of `GET /v1/follow-ups/owed`: the month's plan and the visits still owed.

    A project the caller may not see is answered as one that does not exist.
    """
    if principal.role not in MAY_PLAN_FOLLOW_UPS:
        raise Forbidden(
            f"a {principal.role.value} may not list follow-up visits", code="role_not_allowed"
        )
    zone = await project_time_zone(engine, principal.tenant, project)
    if zone is None or not principal.can_access(principal.tenant, project):
        raise NotFound(f"no project {project!r}", code="unknown_project")
    first, following = month_bounds(month, zone, now)
    tz = ZoneInfo(zone)
    low = datetime(first.year, first.month, first.day, tzinfo=tz)
    high = datetime(following.year, following.month, following.day, tzinfo=tz)
    repairs = await completed_repairs(engine, principal.tenant, project, low, high)
    plan = plan_for(await policies.current(principal.tenant), project, repairs)
    return {
        "project": project,
        "month": first.strftime("%Y-%m"),
        "from": first.isoformat(),
        "to": following.isoformat(),
        "time_zone": zone,
        "completed_repairs": plan.completed,
        "target_share": plan.target_share,
        "required_visits": plan.required,
        "visited": plan.visited,
        "shortfall": plan.shortfall,
        "owed": [
            {
                "work_order_id": v.work_order_id,
                "first_completed_at": v.first_completed_at,
                "because": v.because.value,
            }
            for v in plan.owed
        ],
        "as_of": now,
    }
