"""Headquarters quality's figures, read from reporting (and the projects' names from
dispatch) with the user's token: reporting scopes them to the projects the token sees."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime

from services.console.domain import timing
from services.console.domain.periods import ReportPeriod
from services.console.domain.session import SignedIn
from services.console.service_layer.ports import Json, ReportingPort

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


def period_params(period: ReportPeriod, project: str | None) -> dict[str, str]:
    """reporting's query for `period` (and one project, when chosen)."""
    params = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if project:
        params["project"] = project
    return params


@dataclass(frozen=True)
class QualityBoard:
    """Every KPI of the period with its trend, and the open orders at risk."""

    figures: list[Json]
    """reporting's figures, each with its definition (title, unit, direction, target)."""
    series: dict[str, Json]
    """The trend of each KPI the period applies to (not the backlog, a snapshot of now)."""
    at_risk: list[Json]


async def quality_board(
    reporting: ReportingPort, user: SignedIn, period: ReportPeriod, project: str | None
) -> QualityBoard:
    """Read the figures, then every trend over the same period at the period's granularity."""
    params = period_params(period, project)
    board, risk = await asyncio.gather(
        reporting.get(user.token, "/v1/kpis", params),
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
    )


async def orders_behind(
    reporting: ReportingPort, user: SignedIn, kpi: str, period: ReportPeriod, project: str | None
) -> Json:
    """The samples behind one KPI's figure: each order's number, project, instant, outcome."""
    return await reporting.get(
        user.token,
        f"/v1/kpis/{kpi}/orders",
        {**period_params(period, project), "limit": ORDERS_SHOWN},
    )
