"""Typed FastAPI dependencies of reporting's routes: the running service and the KPI query."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from services.reporting.domain.periods import DEFAULT_TIME_ZONE, Period, month_to_date
from services.reporting.entrypoints.bootstrap import Reporting
from services.reporting.service_layer.queries import KpiQuery, scoped_query
from shared.http.auth import PrincipalDep
from shared.inputs import Day, Line

SLUG = r"^[a-z0-9_-]{1,64}$"


async def _reporting(request: Request) -> Reporting:
    reporting: Reporting = request.app.state.reporting
    return reporting


ReportingDep = Annotated[Reporting, Depends(_reporting)]


async def kpi_query(
    principal: PrincipalDep,
    reporting: ReportingDep,
    project: Annotated[
        str | None, Query(pattern=SLUG, description="One project; omitted: every visible one")
    ] = None,
    from_: Annotated[
        Day | None,
        Query(
            alias="from", description="First local date of the period (default: 1st of this month)"
        ),
    ] = None,
    to: Annotated[
        Day | None,
        Query(description="Local date after the period's last day (default: tomorrow)"),
    ] = None,
    building: Annotated[Line | None, Query(max_length=200)] = None,
    kind: Annotated[Line | None, Query(max_length=32)] = None,
    category: Annotated[Line | None, Query(max_length=200)] = None,
    technician: Annotated[Line | None, Query(max_length=128)] = None,
    team: Annotated[
        Line | None, Query(max_length=128, description="The assignee's team (latest assignment)")
    ] = None,
) -> KpiQuery | None:
    """The caller's KPI query; None when the project asked for is not visible to them."""
    now = reporting.clock.now()
    default = month_to_date(now, DEFAULT_TIME_ZONE)
    period = Period(from_ or default.start, to or default.end)
    filters = {
        k: v
        for k, v in {
            "building": building,
            "kind": kind,
            "category": category,
            "technician": technician,
            "team": team,
        }.items()
        if v is not None
    }
    return scoped_query(principal, project, period, now, filters)


QueryDep = Annotated[KpiQuery | None, Depends(kpi_query)]
