"""Resident search (住户查询): who called from this phone before, where they live, their orders."""

from __future__ import annotations

from typing import Any, Protocol

from services.dispatch.domain.residents import (
    Resident,
    ResidentReport,
    residents_among,
)
from services.dispatch.domain.workorder import ERASED
from services.dispatch.service_layer.projects import ProjectDirectory
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound
from shared.phones import normalise_phone
from shared.privacy.fields import Erased, PersonalFields

MAY_SEARCH_RESIDENTS = frozenset({Role.CUSTOMER_SERVICE, Role.SUPERVISOR})
"""Customer service takes the calls; supervisors stand in for them. Nobody else needs a
resident's name and home from a phone number (PIPL: the minimum necessary)."""

REPORTS_SEARCHED = 200
"""The newest reports from one phone that the answer is made from."""

RECENT_ORDERS = 5
"""Orders shown per resident, newest first."""


class ResidentIndex(Protocol):
    """The blind index of reporters' phones (`adapters.resident_index`)."""

    async def reports(
        self, tenant: str, projects: frozenset[str] | None, phone: str, limit: int
    ) -> list[ResidentReport]:
        """The newest `limit` orders reported from `phone` in `projects` (None: all)."""
        ...


async def find_residents(
    index: ResidentIndex,
    projects: ProjectDirectory,
    fields: PersonalFields,
    principal: Principal,
    phone: str,
    project: str | None = None,
) -> dict[str, Any]:
    """The body of `GET /v1/residents`: the residents who reported from `phone` in the
    caller's projects (or `project`), each with their reference, name, homes and latest
    orders (the sealed names and units opened through `fields`; an erased resident's
    show `erased`).

    Raises `Forbidden` for a role that may not search, `NotFound` for a project the
    caller may not see, `InvalidInput` (`invalid_phone`) for text that is no phone number.
    """
    if principal.role not in MAY_SEARCH_RESIDENTS:
        raise Forbidden(
            f"a {principal.role.value} may not search residents", code="role_not_allowed"
        )
    canonical = normalise_phone(phone)
    visible = None if principal.all_projects else principal.projects
    if project is not None:
        if not principal.can_access(principal.tenant, project):
            raise NotFound(f"no project {project!r}", code="unknown_project")
        visible = frozenset({project})
    found = await index.reports(principal.tenant, visible, canonical, REPORTS_SEARCHED)
    found = [await _opened(fields, principal.tenant, report) for report in found]
    residents = residents_among(found, RECENT_ORDERS)
    names = await _building_names(projects, principal.tenant, {r.project for r in found})
    return {"items": [_resident_body(r, names) for r in residents]}


async def _building_names(
    projects: ProjectDirectory, tenant: str, slugs: set[str]
) -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], str] = {}
    for slug in sorted(slugs):
        details = await projects.details(tenant, slug)
        for building in details.buildings if details is not None else ():
            names[(slug, building.id)] = building.name
    return names


async def _opened(fields: PersonalFields, tenant: str, report: ResidentReport) -> ResidentReport:
    if report.resident is None or not report.sealed:
        return report  # reported before sealing: the listing row holds the clear values
    values: dict[str, str] = {}
    for name in SHOWN_SEALED:
        token = report.sealed.get(name)
        if token is not None:
            value = await fields.open(tenant, report.resident, name, token)
            values[name] = ERASED if isinstance(value, Erased) else value
    return report.opened(values)


SHOWN_SEALED = ("reporter.name", "location.unit")
"""What a search shows of each order: the name the caller gave and the unit."""


def _resident_body(resident: Resident, names: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {
        "resident": resident.reference,
        "resident_id": resident.resident_id,
        "name": resident.name,
        "homes": [
            {
                "project": home.project,
                "building": home.building,
                "building_name": names.get((home.project, home.building or "")),
                "unit": home.unit,
            }
            for home in resident.homes
        ],
        "recent_orders": [
            {
                "id": order.work_order_id,
                "project": order.project,
                "number": order.number,
                "status": order.status,
                "kind": order.kind,
                "category": order.category,
                "reported_at": order.reported_at,
            }
            for order in resident.recent
        ],
    }
