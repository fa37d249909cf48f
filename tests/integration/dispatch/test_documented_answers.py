"""dispatch's real answers are the ones its OpenAPI document describes.

A work order goes from report to completion in a project with a team, staff, a dispatch
rule, a roster and an SLA policy, and every read endpoint is called on that state. The
client holds each answer to the document (`tests/openapi_support.py`); this test makes
sure the main reads were among them, with bodies that have something in them to check.
"""

from __future__ import annotations

from typing import Any

from services.dispatch.entrypoints.routes.schemas import WorkOrder, WorkOrderIdentity
from shared.auth import Role
from tests.integration.dispatch.api_support import Api, auth, completed_repair
from tests.integration.dispatch.assignment_support import MANAGER, hire, set_rule

SUPERVISOR = auth(Role.SUPERVISOR)
HQ = auth(Role.HQ_QUALITY)

ROSTER = {
    "shifts": [{"name": "day", "team": "maintenance", "members": ["tech-wang"]}],
    "on_call": ["tech-wang"],
}


async def _get(api: Api, path: str, headers: dict[str, str] = SUPERVISOR, **params: Any) -> Any:
    response = await api.client.get(path, params=params, headers=headers)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def test_every_main_read_answers_as_documented(api: Api) -> None:
    await hire(api, "tech-wang")
    await set_rule(api, "manual")
    roster = await api.client.put("/v1/projects/sunny/roster", json=ROSTER, headers=MANAGER)
    assert roster.status_code == 200, roster.text
    default = await _get(api, "/v1/sla/policies/current", HQ)
    draft = {k: v for k, v in default.items() if k not in ("version", "projects")}
    policy = await api.client.post(
        "/v1/sla/policies", json={**draft, "warning_thresholds": [0.5, 0.9]}, headers=HQ
    )
    assert policy.status_code == 201, policy.text
    pending = (await api.report())["id"]
    wid = await completed_repair(api)
    recalculated = await api.command(pending, "recalculate-sla", Role.SUPERVISOR)
    assert recalculated.status_code == 200, recalculated.text

    order = await _get(api, f"/v1/work-orders/{wid}")
    history = await _get(api, f"/v1/work-orders/{wid}/events")
    listed = await _get(api, "/v1/work-orders")
    sla = await _get(api, f"/v1/work-orders/{pending}/sla")
    at_risk = await _get(api, "/v1/sla/at-risk")
    suggestions = await _get(api, f"/v1/work-orders/{pending}/suggestions")
    staff = await _get(api, "/v1/staff")
    await _get(api, "/v1/staff/tech-wang")
    await _get(api, "/v1/staff/tech-wang/workload")
    teams = await _get(api, "/v1/teams")
    await _get(api, "/v1/teams/maintenance")
    rules = await _get(api, "/v1/projects/sunny/dispatch-rules")
    on_duty = await _get(api, "/v1/projects/sunny/roster")
    await _get(api, "/v1/dispatch/queue")
    projects = await _get(api, "/v1/projects")
    await _get(api, "/v1/projects/sunny")
    versions = await _get(api, "/v1/sla/policies", HQ)
    await _get(api, "/v1/sla/policies/current", HQ)
    await _get(api, "/v1/sla/policies/1", HQ)
    owed = await _get(api, "/v1/follow-ups/owed", auth(Role.CUSTOMER_SERVICE), project="sunny")

    # The bodies hold what the schemas describe, not just empty lists.
    assert order["status"] == "completed" and len(listed["items"]) == 2
    assert len(history["items"]) >= 5 and sla["clocks"] and at_risk["items"]
    assert suggestions["suggestions"] and staff["items"] and teams["items"]
    assert rules["items"] and on_duty["shifts"] and projects["items"]
    assert len(versions["items"]) == 2 and owed["owed"]
    validated = WorkOrder.model_validate(order)
    assert isinstance(validated, WorkOrderIdentity)  # body_of's model extends its base
    assert validated.id == wid
    assert api.keeper is not None
    documented = {(method, path) for method, path, status in api.keeper.checked if status < 300}
    assert {
        ("POST", "/v1/work-orders"),
        ("POST", "/v1/work-orders/{work_order_id}/complete"),
        ("POST", "/v1/work-orders/{work_order_id}/recalculate-sla"),
        ("POST", "/v1/sla/policies"),
        ("PUT", "/v1/staff/{staff_id}"),
        ("PUT", "/v1/staff/{staff_id}/availability"),
        ("PUT", "/v1/teams/{team_id}"),
        ("PUT", "/v1/projects/{project}/dispatch-rules/{category}"),
        ("PUT", "/v1/projects/{project}/roster"),
        ("GET", "/v1/work-orders/{work_order_id}"),
        ("GET", "/v1/work-orders/{work_order_id}/events"),
        ("GET", "/v1/work-orders"),
        ("GET", "/v1/work-orders/{work_order_id}/sla"),
        ("GET", "/v1/sla/at-risk"),
        ("GET", "/v1/work-orders/{work_order_id}/suggestions"),
        ("GET", "/v1/staff"),
        ("GET", "/v1/staff/{staff_id}"),
        ("GET", "/v1/staff/{staff_id}/workload"),
        ("GET", "/v1/teams"),
        ("GET", "/v1/teams/{team_id}"),
        ("GET", "/v1/projects/{project}/dispatch-rules"),
        ("GET", "/v1/projects/{project}/roster"),
        ("GET", "/v1/dispatch/queue"),
        ("GET", "/v1/projects"),
        ("GET", "/v1/projects/{project}"),
        ("GET", "/v1/sla/policies"),
        ("GET", "/v1/sla/policies/current"),
        ("GET", "/v1/sla/policies/{version}"),
        ("GET", "/v1/follow-ups/owed"),
    } <= documented
