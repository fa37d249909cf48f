"""End to end over HTTP: a reported order's number is the same in dispatch's answer, in the
messages notify renders and in reporting's drill-down and breach list; the messages name the
project, the category, the place and the staff, and no message carries a UUID."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.notify.domain.config import NotifyConfig, TenantConfig
from shared.auth import Role
from shared.envelope import Envelope
from shared.subjects import EVENTS_STREAM
from tests.integration.dispatch.api_support import (
    NOW,
    SUNNY_GARDEN,
    TENANT,
    auth,
    report_body,
    running_api,
)
from tests.integration.dispatch.assignment_support import MANAGER, events_of, hire
from tests.integration.notify.conftest import Harness, dump
from tests.integration.notify.support import eventually
from tests.integration.reporting.api_support import HQ, running_reporting

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WEEK = {"from": "2026-03-02", "to": "2026-03-09"}


async def dispatch_story(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A resident's leak in building 2 of 阳光花园, received by 李客服, assigned to 王师傅,
    who has not arrived in time (the arrival clock breaches): the report's answer and every
    event."""
    async with running_api(f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}") as api:
        changed = await api.client.put(
            "/v1/projects/sunny", json={"details": SUNNY_GARDEN}, headers=MANAGER
        )
        assert changed.status_code == 200, changed.text
        await hire(api, "cs-li", role="customer_service", trades=(), name="李客服")
        await hire(api, "tech-wang", name="王师傅")
        body = report_body(
            location={"building": "b2", "unit": "2-202"},
            reporter={"name": "张三", "phone": "13800000000", "resident_id": "res-zhang"},
            owner="cs-li",
        )
        reported = await api.client.post(
            "/v1/work-orders", json=body, headers=auth(Role.CUSTOMER_SERVICE)
        )
        assert reported.status_code == 201, reported.text
        order: dict[str, Any] = reported.json()
        assigned = await api.command(
            order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"}
        )
        assert assigned.status_code == 200, assigned.text
        api.clock.advance(timedelta(minutes=4))
        assert api.dispatch.scheduler is not None
        await api.dispatch.scheduler.fire_due()
        return order, await events_of(api, order["id"], with_sla=True)


async def test_the_number_and_the_names_are_the_same_everywhere(
    harness: Harness, tmp_path: Path
) -> None:
    order, events = await dispatch_story(tmp_path)
    number = order["number"]
    assert number == "SG-20260302-0001"

    await harness.start(NotifyConfig(tenants={TENANT: TenantConfig()}))
    for item in events:
        await harness.publish(Envelope.model_validate(item))
    assert harness.bus is not None
    last = (await harness.bus.jetstream().stream_info(EVENTS_STREAM)).state.last_seq

    async def everyone_heard() -> bool:
        resident = await harness.deliveries(audience="resident")
        owner = await harness.deliveries(recipient="person:cs-li")
        return {r["template"] for r in resident} >= {"reported_receipt"} and {
            r["event_type"] for r in owner if r["template"] == "owner_update"
        } >= {"workorder.assigned"}

    await eventually(everyone_heard, what="the resident's receipt and the owner's updates")
    rows = await harness.deliveries()
    receipt = next(r for r in rows if r["template"] == "reported_receipt")
    to_owner = [r for r in rows if r["recipient"] == "person:cs-li"]
    sent = [r for r in rows if r["channel"] != "none"]

    receipt_text = f"{receipt['subject']}\n{receipt['body_text']}"
    for name in (number, "阳光花园", "水管维修", "2号楼 2-202", "李客服"):
        assert name in receipt_text, (name, receipt_text)
    assert any("王师傅" in r["body_text"] for r in to_owner), dump(to_owner)
    for row in sent:
        assert not UUID_TEXT.search(row["subject"] + row["body_text"]), dump([row])
        assert number in row["subject"] + row["body_text"] or row["template"] in {"owner_update"}, (
            dump([row])
        )

    reporting_db = f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}"
    async with running_reporting(reporting_db, harness.nats_url, NOW + timedelta(hours=1)) as rp:
        await rp.caught_up(last)
        breaches = await rp.client.get("/v1/kpis/sla_breaches/orders", params=WEEK, headers=HQ)
        at_risk = await rp.client.get("/v1/kpis/at-risk", params=WEEK, headers=HQ)

    assert breaches.status_code == 200, breaches.text
    assert [(o["order_id"], o["number"]) for o in breaches.json()["orders"]] == [
        (order["id"], number)
    ]
    assert at_risk.status_code == 200, at_risk.text
    assert {(o["order_id"], o["number"]) for o in at_risk.json()["orders"]} == {
        (order["id"], number)
    }
