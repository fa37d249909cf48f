"""Demo data of the local stack: tenant `demo`, two projects, and a token for every role.

Registration goes through dispatch's public HTTP API, exactly as an integrator
would do it, so the demo also exercises the project registry. Each new project gets
its customer-service desk: the demo customer-service login (`dev-customer_service`,
李客服) in the staff directory and as the roster's designated receiver, so a report a
resident makes in the app has an employee who owns it (首按责任制). It also gets a
maintenance team of two technicians on duty (王师傅 `tech-wang`, plumbing and electrical;
赵师傅 `tech-zhao`, plumbing and elevators) and one dispatch rule: electrical work is
offered automatically (自动派单), everything else waits for a dispatcher, so the console
shows both ways from the first call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from shared.auth import ALL_PROJECTS, Role
from wo.token import mint_dev_token

DEMO_TENANT = "demo"

DEMO_RECEIVER = "dev-customer_service"
"""The demo customer-service login: it receives the residents' app reports."""

DEMO_DESK_TEAM = "service-desk"

DEMO_MAINTENANCE_TEAM = "maintenance"

DEMO_TECHNICIANS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tech-wang": ("王师傅", ("plumbing", "electrical")),
    "tech-zhao": ("赵师傅", ("plumbing", "elevator")),
}
"""The demo technicians: id -> (name, trades)."""

DEMO_AUTO_CATEGORY = "electrical"
"""The category the demo offers automatically; the others wait for a dispatcher."""

DEMO_OPERATOR = "ops-desk"
"""The demo tenant's operator contact: told of every message that reached nobody."""


def demo_notify_config() -> dict[str, Any]:
    """notify's configuration for the demo tenant (`NOTIFY_CONFIG_FILE`).

    Staff are reached in their inbox; the operator desk hears what reached nobody else
    (an escalation to a project manager the demo does not have), so nothing is lost.
    """
    return {
        "tenants": {
            DEMO_TENANT: {
                "contacts": {
                    DEMO_RECEIVER: {"name": "李客服", "channels": ["inbox"]},
                    DEMO_OPERATOR: {"name": "运营值班", "channels": ["inbox"]},
                    **{
                        tech: {"name": name, "channels": ["inbox"]}
                        for tech, (name, _) in DEMO_TECHNICIANS.items()
                    },
                },
                "operator": DEMO_OPERATOR,
            }
        }
    }


def write_demo_notify_config(path: Path) -> Path:
    """Write `demo_notify_config()` as JSON to `path` and return it."""
    path.write_text(json.dumps(demo_notify_config(), ensure_ascii=False), encoding="utf-8")
    return path


WIDE_ROLES = frozenset({Role.HQ_QUALITY, Role.INTEGRATOR, Role.PRIVACY_OFFICER})
"""Roles whose demo token is granted every project ('*'); the others get the first project."""


@dataclass(frozen=True)
class Building:
    """A building of a demo project."""

    id: str
    name: str
    households: int
    units: tuple[str, ...] = ()


def demo_units(prefix: str) -> tuple[str, ...]:
    """A demo building's units: floors 1-3, two units a floor (`1-101` … `1-302`)."""
    return tuple(f"{prefix}-{floor}0{door}" for floor in (1, 2, 3) for door in (1, 2))


@dataclass(frozen=True)
class DemoProject:
    """A residential project (小区) registered for the demo tenant."""

    slug: str
    name: str
    code: str
    """What the project's work-order numbers start with (SG-20261201-0001)."""
    households: int
    buildings: tuple[Building, ...]
    time_zone: str = "Asia/Shanghai"

    def registration(self) -> dict[str, Any]:
        """Body of `POST /v1/projects` registering this project."""
        return {
            "project": self.slug,
            "details": {
                "name": self.name,
                "code": self.code,
                "time_zone": self.time_zone,
                "households": self.households,
                "buildings": [
                    {"id": b.id, "name": b.name, "households": b.households, "units": list(b.units)}
                    for b in self.buildings
                ],
            },
        }


DEMO_PROJECTS: tuple[DemoProject, ...] = (
    DemoProject(
        slug="sunny-garden",
        name="阳光花园",
        code="SG",
        households=1200,
        buildings=(
            Building("b1", "1号楼", 600, demo_units("1")),
            Building("b2", "2号楼", 600, demo_units("2")),
        ),
    ),
    DemoProject(
        slug="river-view",
        name="江景苑",
        code="RV",
        households=800,
        buildings=(
            Building("b1", "1号楼", 400, demo_units("1")),
            Building("b2", "2号楼", 400, demo_units("2")),
        ),
    ),
)


class DemoRegistrationError(Exception):
    """dispatch refused a demo project for a reason other than it already existing."""


def demo_grants() -> dict[Role, list[str]]:
    """Projects each role's demo token may access.

    Headquarters and integrators see the whole tenant; every other role is scoped to
    the first demo project, so the demo can also show a project-scoped refusal.
    """
    first = DEMO_PROJECTS[0].slug
    return {role: [ALL_PROJECTS] if role in WIDE_ROLES else [first] for role in Role}


def demo_tokens() -> dict[str, str]:
    """A development token for every role of tenant `demo`, keyed by role name."""
    return {
        str(role): mint_dev_token(role=role, tenant=DEMO_TENANT, projects=projects)
        for role, projects in demo_grants().items()
    }


def register_demo_projects(client: httpx.Client, dispatch_url: str, token: str) -> dict[str, str]:
    """Register the demo projects with dispatch; returns slug -> "created", "exists" or
    "units added".

    A 409 `project_exists` is success: the stack keeps its data between runs. A demo
    project registered before units were registered gets the demo's record (with units)
    once, so the console's unit picker works on an old stack too; a project whose units
    were registered is left as it is. Raises `DemoRegistrationError` for any other answer.
    """
    outcomes: dict[str, str] = {}
    for project in DEMO_PROJECTS:
        try:
            response = client.post(
                f"{dispatch_url}/v1/projects",
                json=project.registration(),
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise DemoRegistrationError(
                f"registering project {project.slug!r} failed: {exc}"
            ) from None
        if response.status_code == 201:
            _set_up_reception(client, dispatch_url, token, project.slug)
            outcomes[project.slug] = "created"
        elif response.status_code == 409 and _problem_code(response) == "project_exists":
            added = _add_units(client, dispatch_url, token, project)
            outcomes[project.slug] = "units added" if added else "exists"
        else:
            raise DemoRegistrationError(
                f"registering project {project.slug!r}: dispatch answered "
                f"{response.status_code}: {response.text[:500]}"
            )
    return outcomes


def _add_units(client: httpx.Client, dispatch_url: str, token: str, project: DemoProject) -> bool:
    """Give a demo project registered without any unit the demo's record; whether it did."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{dispatch_url}/v1/projects/{project.slug}"
    doing = f"updating project {project.slug!r}"
    registered = _answered(lambda: client.get(url, headers=headers), doing)
    if any(b.get("units") for b in registered.json().get("buildings", [])):
        return False
    details = project.registration()["details"]
    _answered(lambda: client.put(url, json={"details": details}, headers=headers), doing)
    return True


def _answered(send: Callable[[], httpx.Response], doing: str) -> httpx.Response:
    """`send()`'s answer, which must be a 200; else `DemoRegistrationError` saying `doing`."""
    try:
        response = send()
    except httpx.HTTPError as exc:
        raise DemoRegistrationError(f"{doing} failed: {exc}") from None
    if response.status_code != 200:
        raise DemoRegistrationError(
            f"{doing}: dispatch answered {response.status_code}: {response.text[:500]}"
        )
    return response


def _set_up_reception(client: httpx.Client, dispatch_url: str, token: str, project: str) -> None:
    """Give a new demo project its customer-service desk and designated receiver, its
    technicians (on duty, each setting their own availability) and its dispatch rule.

    Only at creation: a roster written later by hand is kept on the next `wo up`.
    """
    headers = {"Authorization": f"Bearer {token}"}
    projects = [p.slug for p in DEMO_PROJECTS]
    technicians = [
        (
            f"/v1/staff/{tech}",
            {
                "name": name,
                "role": "technician",
                "team": DEMO_MAINTENANCE_TEAM,
                "trades": list(trades),
                "projects": projects,
            },
            headers,
        )
        for tech, (name, trades) in DEMO_TECHNICIANS.items()
    ]
    on_duty = [
        (
            f"/v1/staff/{tech}/availability",
            {"availability": "on_duty"},
            {"Authorization": f"Bearer {_own_token(tech)}"},
        )
        for tech in DEMO_TECHNICIANS
    ]
    maintenance = {
        "name": "维修班",
        "projects": projects,
        "trades": sorted({t for _, trades in DEMO_TECHNICIANS.values() for t in trades}),
    }
    rule = {"mode": "auto", "trade": DEMO_AUTO_CATEGORY, "offer_seconds": 600}
    writes = [
        (f"/v1/teams/{DEMO_DESK_TEAM}", {"name": "客服中心", "projects": projects}),
        (
            f"/v1/staff/{DEMO_RECEIVER}",
            {
                "name": "李客服",
                "role": "customer_service",
                "team": DEMO_DESK_TEAM,
                "projects": projects,
            },
        ),
        (f"/v1/projects/{project}/roster", {"receiver": DEMO_RECEIVER}),
        (f"/v1/teams/{DEMO_MAINTENANCE_TEAM}", maintenance),
    ]
    rules = [(f"/v1/projects/{project}/dispatch-rules/{DEMO_AUTO_CATEGORY}", rule, headers)]
    # In order: a team before its members, the members before their availability.
    steps = [*((path, body, headers) for path, body in writes), *technicians, *on_duty, *rules]
    for path, body, sent in steps:
        put = partial(client.put, f"{dispatch_url}{path}", json=body, headers=sent)
        _answered(put, f"setting up {path}")


def _own_token(staff_id: str) -> str:
    """A technician's own token: only they (or a dispatcher) set their availability."""
    return mint_dev_token(
        role=Role.TECHNICIAN,
        tenant=DEMO_TENANT,
        projects=[p.slug for p in DEMO_PROJECTS],
        subject=staff_id,
        ttl=timedelta(minutes=5),
    )


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None
