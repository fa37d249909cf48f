"""Headquarters quality's figures, read from reporting (and the projects' names from
dispatch) with the user's token: reporting scopes them to the projects the token sees."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from services.console.domain import timing
from services.console.domain.figure_scope import FigureScope, ScopeChoices
from services.console.domain.orders import building_names
from services.console.domain.periods import ReportPeriod
from services.console.domain.session import SignedIn
from services.console.service_layer.ports import DispatchPort, Json, ReportingPort

AT_RISK_SHOWN = 50
"""Open orders at risk listed under the figures, soonest due first."""
ORDERS_SHOWN = 500
"""Orders behind a figure listed in its drill-down (the page says how many there are)."""


def zone_of_view(projects: dict[str, Json], project: str | None) -> str:
    """The zone whose calendar the period is read on: the chosen project's, else the first
    visible project's (a group usually shares one), else the fallback."""
    chosen = projects.get(project or "") or next(iter(projects.values()), {})
    return str(chosen.get("time_zone") or timing.FALLBACK_ZONE)


def today_in(zone: str, now: datetime) -> date:
    """Today's date on the wall clock of `zone`."""
    return now.astimezone(timing.zone(zone)).date()


def period_params(period: ReportPeriod, scope: FigureScope) -> dict[str, str]:
    """reporting's query for `period` over `scope` (a project, filters, when chosen)."""
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        **scope.reporting_params(),
    }


async def scope_choices(
    dispatch: DispatchPort,
    user: SignedIn,
    projects: dict[str, Json],
    project: str | None,
    words: Mapping[str, Mapping[str, str]],
) -> ScopeChoices:
    """What the filters offer: the buildings registered for the chosen project (for all
    of them, each with its project's name), the kinds and categories `words` names, and
    the technicians and teams of dispatch's directory the user sees, by name."""
    staff, teams = await asyncio.gather(
        dispatch.get(user.token, "/v1/staff"), dispatch.get(user.token, "/v1/teams")
    )
    buildings: dict[str, str] = {}
    for slug, record in projects.items():
        if project and slug != project:
            continue
        named = str(record.get("name") or slug)
        for building, name in building_names(record).items():
            buildings.setdefault(building, name if project else f"{name} ({named})")
    technicians = {
        str(m["id"]): str(m.get("name") or m["id"])
        for m in staff.get("items", [])
        if m.get("role") == "technician" and m.get("id")
    }
    return ScopeChoices(
        projects={slug: str(p.get("name") or slug) for slug, p in projects.items()},
        building=buildings,
        kind=words["kind"],
        category=words["category"],
        technician=dict(sorted(technicians.items(), key=lambda item: item[1])),
        team={str(t["id"]): str(t.get("name") or t["id"]) for t in teams.get("items", [])},
    )


@dataclass(frozen=True)
class QualityBoard:
    """Every KPI of the period with its trend, and the open orders at risk."""

    figures: list[Json]
    """reporting's figures, each with its definition (title, unit, direction, target)."""
    series: dict[str, Json]
    """The trend of each KPI the period applies to (not the backlog, a snapshot of now)."""
    at_risk: list[Json]
    groups: dict[str, list[Json]]
    """Each KPI's figure per value of the grouping chosen (none without one)."""
    notifications: Json | None
    """notify's delivery outcomes in all, per channel and per template; None under a
    filter other than the project (a notification belongs to no building or team)."""


async def quality_board(
    reporting: ReportingPort, user: SignedIn, period: ReportPeriod, scope: FigureScope
) -> QualityBoard:
    """Read the figures (per group too, when grouped), then every trend over the same
    period at the period's granularity."""
    params = period_params(period, scope)
    grouped = {"group_by": scope.group_by} if scope.group_by else {}
    board, risk = await asyncio.gather(
        reporting.get(user.token, "/v1/kpis", {**params, **grouped}),
        reporting.get(user.token, "/v1/kpis/at-risk", {**params, "limit": AT_RISK_SHOWN}),
    )
    figures: list[Json] = board.get("kpis", [])
    trended = [str(f["kpi"]) for f in figures if not f.get("snapshot")]
    series = await asyncio.gather(
        *(
            reporting.get(
                user.token,
                f"/v1/kpis/{kpi}/series",
                {**params, "granularity": period.granularity},
            )
            for kpi in trended
        )
    )
    return QualityBoard(
        figures=figures,
        series=dict(zip(trended, series, strict=True)),
        at_risk=risk.get("orders", []),
        groups=board.get("groups") or {},
        notifications=board.get("notifications"),
    )


async def orders_behind(
    reporting: ReportingPort, user: SignedIn, kpi: str, period: ReportPeriod, scope: FigureScope
) -> Json:
    """The samples behind one KPI's figure: each order's number, project, instant, outcome."""
    return await reporting.get(
        user.token,
        f"/v1/kpis/{kpi}/orders",
        {**period_params(period, scope), "limit": ORDERS_SHOWN},
    )
