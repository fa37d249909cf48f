"""Visits booked with the resident (在业户预约的时间上门), over HTTP with the SLA scheduler."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.dispatch.domain.sla import DEFAULT_APPOINTMENT_GRACE
from shared.auth import Role
from tests.integration.dispatch.api_support import NOW, Api
from tests.integration.dispatch.test_sla_api import arrival_clock, instant, scheduler_of

HOUR = timedelta(hours=1)


async def _assigned_and_booked(api: Api, booked_in: timedelta) -> tuple[str, Any]:
    order = await api.report()
    assigned = await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    assert assigned.status_code == 200, assigned.text
    booked = NOW + booked_in
    response = await api.command(
        order["id"],
        "schedule-appointment",
        Role.CUSTOMER_SERVICE,
        {"appointment_at": booked.isoformat()},
    )
    assert response.status_code == 200, response.text
    return order["id"], booked


async def _run_scheduler_to(api: Api, delta: timedelta) -> None:
    """Let `delta` pass in steps, firing whatever falls due on the way."""
    for _ in range(int(delta / timedelta(minutes=5))):
        api.clock.advance(timedelta(minutes=5))
        await scheduler_of(api).fire_due()


async def test_a_booked_visit_kept_on_time_is_no_arrival_breach(api: Api) -> None:
    work_order_id, booked = await _assigned_and_booked(api, 2 * HOUR)
    await _run_scheduler_to(api, 2 * HOUR)

    arrived = await api.command(work_order_id, "arrive", Role.TECHNICIAN, {}, subject="tech-wang")

    assert arrived.status_code == 200, arrived.text
    arrival = await arrival_clock(api, work_order_id)
    assert arrival["status"] == "met"
    assert arrival["on_time"] is True
    assert arrival["breached_at"] is None
    assert instant(arrival["due_at"]) == booked + DEFAULT_APPOINTMENT_GRACE


async def test_missed_then_rebooked_visit_runs_to_the_new_appointment(api: Api) -> None:
    work_order_id, _ = await _assigned_and_booked(api, HOUR)
    early = await api.command(
        work_order_id,
        "miss-appointment",
        Role.TECHNICIAN,
        {"note": "no answer"},
        subject="tech-wang",
    )
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "appointment_not_due"
    await _run_scheduler_to(api, HOUR)
    missed = await api.command(
        work_order_id,
        "miss-appointment",
        Role.TECHNICIAN,
        {"note": "notice on the door"},
        subject="tech-wang",
    )
    assert missed.status_code == 200, missed.text
    assert (await arrival_clock(api, work_order_id))["status"] == "paused"

    rebooked_at = api.clock.now() + 24 * HOUR
    rebooked = await api.command(
        work_order_id,
        "schedule-appointment",
        Role.CUSTOMER_SERVICE,
        {"appointment_at": rebooked_at.isoformat()},
    )

    assert rebooked.status_code == 200, rebooked.text
    arrival = await arrival_clock(api, work_order_id)
    assert arrival["status"] == "running"
    assert instant(arrival["due_at"]) == rebooked_at + DEFAULT_APPOINTMENT_GRACE
    await _run_scheduler_to(api, 24 * HOUR)
    assert (await arrival_clock(api, work_order_id))["breached_at"] is None
