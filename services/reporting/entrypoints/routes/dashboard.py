"""Where reporting's own dashboard was: the KPI dashboard is the console's quality page.

An old bookmark (`/dashboard/?project=…&from=…&to=…#token=…`) is sent to the console's
quality page for the same project and days when `CONSOLE_URL` is set; without it, a short
page says where the dashboard is. The API and the KPI stream are unchanged.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting.entrypoints.deps import ReportingDep

router = APIRouter(include_in_schema=False)

MOVED_PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>品质看板已迁至控制台 · The dashboard moved</title></head>
<body>
<h1>品质看板已迁至控制台 · The KPI dashboard moved</h1>
<p lang="zh-CN">指标看板现在是员工控制台的"品质"页面：打开控制台并登录即可查看。{where_zh}</p>
<p lang="en">The KPI dashboard is now the staff console's Quality page: open the console and
sign in. {where_en}</p>
<p><a href="/docs">API</a> · <code>GET /v1/kpis</code> · <code>GET /v1/kpis/stream</code></p>
</body>
</html>
"""


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def quality_query(project: str | None, first: str | None, after: str | None) -> dict[str, str]:
    """The console's quality query for the old dashboard's `project`, `from` and `to`.

    The dashboard's `to` was reporting's (the day after the last one); the console's
    range names the last day itself. Dates that are not dates are dropped: the console
    then shows this month.
    """
    query = {"project": project} if project else {}
    start, end = _day(first), _day(after)
    if start is not None and end is not None and end > start:
        last = end - timedelta(days=1)
        query.update(span="range", **{"from": start.isoformat(), "to": last.isoformat()})
    return query


@router.get("/")
@router.get("/dashboard")
@router.get("/dashboard/")
async def dashboard(
    reporting: ReportingDep,
    project: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The console's quality page when its address is known, else where to find it."""
    console = reporting.settings.console_url
    if console is None:
        return HTMLResponse(
            MOVED_PAGE.format(
                where_zh="本服务未配置控制台地址（CONSOLE_URL）。",
                where_en="This service was not told the console's address (CONSOLE_URL).",
            )
        )
    query = urlencode(quality_query(project, first, to))
    target = f"{str(console).rstrip('/')}/quality" + (f"?{query}" if query else "")
    # An empty fragment: a browser would otherwise carry the old address' `#token=<JWT>`
    # over to the console's address bar and history.
    return RedirectResponse(f"{target}#")
