"""Headquarters quality (品质部): every KPI of a period against its target, its trend, the
orders behind each figure, the open orders at risk, and the exports.

Supervisors and project managers open it too: reporting scopes every figure to the
projects of the user's token, so each sees their own projects' figures.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Response

from services.console.domain import figure_scope, periods
from services.console.domain.languages import Language
from services.console.domain.roles import Page
from services.console.entrypoints import figures, labels
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards, quality

router = APIRouter(include_in_schema=False)

KPI_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
EXPORT_FORMATS = ("csv", "xlsx")


async def _view(visit: Visit) -> dict[str, Any]:
    """What every part of the page shares: the user, projects, the chosen project and period."""
    user = visit.require(Page.QUALITY)
    query = visit.request.query_params
    projects = await boards.projects(visit.console.dispatch, user)
    project = query.get("project") or None
    if project not in projects:
        project = None
    words = {
        dimension: {code: visit.gettext(word) for code, word in table.items()}
        for dimension, table in (("kind", labels.KINDS), ("category", labels.CATEGORIES))
    }
    choices = await quality.scope_choices(visit.console.dispatch, user, projects, project, words)
    scope = figure_scope.choose_scope(query, choices)
    zone = quality.zone_of_view(projects, project)
    period, problem = periods.parse_period(
        query.get("span"), query.get("from"), query.get("to"), quality.today_in(zone, visit.now())
    )
    chosen = {"span": period.span.value, "from": period.start.isoformat()}
    if period.span is periods.Span.RANGE:
        chosen["to"] = period.last_day.isoformat()
    chosen.update(scope.page_params())
    zh = visit.session.language is Language.ZH_CN
    return {
        "reader": user,
        "projects": projects,
        "project": project,
        "scope": scope,
        "choices": choices,
        "groupings": figure_scope.GROUPINGS,
        "zone": zone,
        "period": period,
        "problem": problem,
        "chosen": chosen,
        "narrowed": lambda dimension, key: {
            **chosen,
            **scope.narrowed(dimension, key).page_params(),
        },
        "title": lambda f: f.get("title_zh") if zh else f.get("title_en"),
        "figure": lambda unit, value: figures.figure_text(unit, value, visit.gettext),
        "target": lambda f: figures.target_text(f, visit.gettext),
    }


async def _board(visit: Visit) -> dict[str, Any]:
    """The view with every KPI's figure and trend and the open orders at risk."""
    view = await _view(visit)
    period = view["period"]
    board = await quality.quality_board(
        visit.console.reporting, view["reader"], period, view["scope"]
    )
    buckets = periods.bucket_labels(period)
    charts = {
        f["kpi"]: figures.chart_of(f, board.series[f["kpi"]], buckets, visit.gettext)
        for f in board.figures
        if f["kpi"] in board.series
    }
    return {**view, "board": board, "charts": charts}


@router.get("/quality")
async def quality_page(visit: VisitDep) -> Response:
    """Every KPI of the period against its target with its trend, and the breaches."""
    data = await _board(visit)
    problem = data["problem"]
    if problem is not None:
        visit.note(visit.gettext(figures.period_problem(problem)))
    previous = _moved(data["chosen"], data["period"].shifted(-1))
    following = _moved(data["chosen"], data["period"].shifted(1))
    return visit.render("quality.html", previous=previous, following=following, **data)


def _moved(chosen: dict[str, str], period: periods.ReportPeriod) -> dict[str, str]:
    """The page's query for another period, the scope and grouping kept."""
    return {
        **chosen,
        "span": period.span.value,
        "from": period.start.isoformat(),
        "to": period.last_day.isoformat(),
    }


@router.get("/quality/live")
async def quality_live(visit: VisitDep) -> Response:
    """The figures, trends and breaches, re-read by the page (figures change as orders do)."""
    return visit.fragment("quality_board.html", **await _board(visit))


@router.get("/quality/orders")
async def quality_orders(visit: VisitDep) -> Response:
    """The orders behind one KPI's figure over the chosen period."""
    view = await _view(visit)
    kpi = visit.request.query_params.get("kpi", "")
    if not KPI_NAME.match(kpi):
        return visit.render(
            "error.html", status=404, message=visit.gettext("There is no such page.")
        )
    found = await quality.orders_behind(
        visit.console.reporting, view["reader"], kpi, view["period"], view["scope"]
    )
    return visit.render("quality_orders.html", found=found, kpi=kpi, **view)


@router.get("/quality/export")
async def quality_export(visit: VisitDep) -> Response:
    """The period's figures as CSV or XLSX, fetched from reporting with the user's token
    (which stays on the server) and handed to the browser as a download."""
    view = await _view(visit)
    format = visit.request.query_params.get("format", "")
    if format not in EXPORT_FORMATS:
        return visit.render(
            "error.html", status=404, message=visit.gettext("There is no such page.")
        )
    params = {
        **quality.period_params(view["period"], view["scope"]),
        "format": format,
        "granularity": view["period"].granularity,
    }
    download = await visit.console.reporting.download(
        view["reader"].token, "/v1/kpis/export", params
    )
    response = Response(
        download.content,
        media_type=download.media_type,
        headers={"Content-Disposition": download.disposition},
    )
    visit.keep(response)
    return response
