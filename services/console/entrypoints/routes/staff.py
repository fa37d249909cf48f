"""Supervisors, managers and headquarters: the staff directory and who is available."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.console.domain.roles import Page
from services.console.entrypoints.routes.auth import VisitDep

router = APIRouter(include_in_schema=False)


@router.get("/staff")
async def staff_page(visit: VisitDep) -> Response:
    """Everyone of the user's projects: role, team, trades, projects and availability."""
    user = visit.require(Page.STAFF)
    staff = await visit.console.dispatch.get(user.token, "/v1/staff")
    members = sorted(staff.get("items", []), key=lambda m: (str(m.get("role")), str(m.get("id"))))
    return visit.render("staff.html", members=members)
