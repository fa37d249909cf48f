"""End to end: 首按责任制. A resident's report in the app is owned by the customer-service
person on duty, and that owner (not the resident) hears of every step that changes what
they promised: the assignment, the breach, the arrival and the completion."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from services.notify.domain.config import NotifyConfig, TenantConfig
from shared.auth import Role
from shared.envelope import Envelope
from tests.integration.dispatch.api_support import TENANT, auth, report_body, running_api
from tests.integration.dispatch.assignment_support import events_of, hire
from tests.integration.notify.conftest import Harness, dump
from tests.integration.notify.support import eventually

RESIDENT = auth(Role.RESIDENT, subject="res-zhang")
STAFF_TEMPLATES = {"reported_owner", "owner_update", "sla_breached", "sla_escalated"}


async def test_app_report_is_owned_by_customer_service_and_the_owner_hears_each_step(
    harness: Harness, tmp_path: Path
) -> None:
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        await hire(api, "cs-li", role="customer_service", trades=())
        body = report_body(reporter={"name": "张三", "phone": "13800000000"}, channel="app")
        reported = await api.client.post("/v1/work-orders", json=body, headers=RESIDENT)
        assert reported.status_code == 201, reported.text
        order = reported.json()
        assert order["owner"] == "cs-li"

        steps: list[tuple[str, Role, str]] = [
            ("assign", Role.DISPATCHER, "dispatcher-1"),
            ("arrive", Role.TECHNICIAN, "tech-wang"),
            ("complete", Role.TECHNICIAN, "tech-wang"),
        ]
        bodies: dict[str, dict[str, Any]] = {
            "assign": {"assignee": "tech-wang"},
            "complete": {"summary": "换了三通阀"},
        }
        for name, role, subject in steps:
            if name == "arrive":
                # Nobody came within the arrival time: the clock breaches.
                api.clock.advance(timedelta(minutes=4))
                assert api.dispatch.scheduler is not None
                await api.dispatch.scheduler.fire_due()
            answer = await api.command(order["id"], name, role, bodies.get(name), subject=subject)
            if answer.status_code == 409 and answer.json()["code"] == "concurrency_conflict":
                # The app's own timer loop appended meanwhile: a client retries (409).
                answer = await api.command(
                    order["id"], name, role, bodies.get(name), subject=subject
                )
            assert answer.status_code == 200, answer.text
        events = await events_of(api, order["id"], with_sla=True)

    await harness.start(NotifyConfig(tenants={TENANT: TenantConfig()}))
    for item in events:
        await harness.publish(Envelope.model_validate(item))

    # The owner's last message is the completion's update: wait for it, not for a count
    # of rows another message could make up.
    async def owner_heard() -> bool:
        rows = await harness.deliveries(recipient="person:cs-li")
        return any(r["event_type"] == "workorder.completed" for r in rows)

    await eventually(owner_heard, what="the owner's messages")
    owner_rows = await harness.deliveries(recipient="person:cs-li")
    heard = [(r["template"], r["event_type"]) for r in owner_rows]
    assert heard == [
        ("reported_owner", "workorder.reported"),
        ("owner_update", "workorder.assigned"),
        ("sla_breached", "workorder.sla_clock_breached"),
        ("owner_update", "workorder.arrived"),
        ("owner_update", "workorder.completed"),
    ], dump(owner_rows)
    resident_rows = await harness.deliveries(audience="resident")
    assert resident_rows, "the resident hears of their own order"
    assert not {r["template"] for r in resident_rows} & STAFF_TEMPLATES, dump(resident_rows)


async def test_app_report_in_a_project_nobody_receives_is_refused(tmp_path: Path) -> None:
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        body = report_body(channel="app")
        refused = await api.client.post("/v1/work-orders", json=body, headers=RESIDENT)
        events = await api.event_count()

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "no_receiver"
    assert events == 2  # the two projects' registrations, nothing more
