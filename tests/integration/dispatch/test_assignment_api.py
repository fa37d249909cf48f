"""Assignment over HTTP: offers after the report, answers, expiry, the pending queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.dispatch.adapters import staff_directory
from services.dispatch.adapters import tables as t
from services.dispatch.adapters.sla_timer_table import rebuild_sla_timers
from shared.auth import Role
from tests.integration.dispatch.api_support import TENANT, Api, auth
from tests.integration.dispatch.assignment_support import (
    MANAGER,
    events_of,
    hire,
    scheduler_of,
    set_rule,
    types,
)


async def test_a_report_is_offered_to_the_least_loaded_technician_in_the_same_append(
    api: Api,
) -> None:
    await hire(api, "wang")
    await hire(api, "li")
    await hire(api, "zhao", trades=("electrical",))
    await set_rule(api, "auto")
    first = await api.report()
    taker = first["offered_to"][0]
    accepted = await api.command(first["id"], "accept-offer", Role.TECHNICIAN, subject=taker)
    assert accepted.status_code == 200, accepted.text
    free = "li" if taker == "wang" else "wang"

    second = await api.report()

    events = await events_of(api, second["id"])
    assert types(events)[:2] == ["workorder.reported", "workorder.offered"]
    assert events[0]["time"] == events[1]["time"]
    offer = events[1]["data"]
    assert offer["mode"] == "auto"
    assert [o["technician"] for o in offer["offers"]] == [free]
    assert offer["offers"][0]["open_orders"] == 0
    assert "skill plumbing" in offer["offers"][0]["reasons"]
    assert second["offered_to"] == [free]


async def test_acceptance_assigns_and_shows_in_the_workload(api: Api) -> None:
    await hire(api, "wang")
    await set_rule(api, "auto")
    order = await api.report()

    accepted = await api.command(order["id"], "accept-offer", Role.TECHNICIAN, subject="wang")
    workload = await api.client.get("/v1/staff/wang/workload", headers=MANAGER)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["assignee"] == "wang"
    assert types(await events_of(api, order["id"]))[-2:] == [
        "workorder.assignment_accepted",
        "workorder.assigned",
    ]
    assert workload.json()["open_orders"] == 1
    assert workload.json()["last_assigned_at"] is not None


async def test_a_decline_offers_the_work_to_the_next_technician_at_once(api: Api) -> None:
    await hire(api, "li")
    await hire(api, "wang")
    await set_rule(api, "auto")
    order = await api.report()
    first = order["offered_to"][0]

    declined = await api.command(
        order["id"], "decline-offer", Role.TECHNICIAN, {"reason": "stuck in a lift"}, subject=first
    )

    assert declined.status_code == 200, declined.text
    events = await events_of(api, order["id"])
    assert types(events)[-2:] == ["workorder.assignment_declined", "workorder.offered"]
    assert events[-1]["data"]["attempt"] == 2
    assert declined.json()["offered_to"] == [n for n in ("li", "wang") if n != first]


async def test_an_unanswered_offer_expires_and_goes_to_the_next_then_to_the_queue(
    api: Api,
) -> None:
    await hire(api, "wang")
    await hire(api, "li")
    await hire(api, "boss", role="supervisor", trades=())
    await set_rule(api, "auto", offer_seconds=60, max_attempts=2)
    order = await api.report()
    scheduler = scheduler_of(api)

    api.clock.advance(timedelta(seconds=59))
    await scheduler.fire_due()
    assert "workorder.offer_expired" not in types(await events_of(api, order["id"]))
    api.clock.advance(timedelta(seconds=1))
    await scheduler.fire_due()
    api.clock.advance(timedelta(seconds=60))
    await scheduler.fire_due()
    await scheduler.fire_due()  # nothing is left to expire twice

    events = await events_of(api, order["id"])
    assert types(events) == [
        "workorder.reported",
        "workorder.offered",
        "workorder.offer_expired",
        "workorder.offered",
        "workorder.offer_expired",
        "workorder.dispatch_pending",
    ]
    pending = events[-1]
    assert pending["data"]["reason"] == "attempts_exhausted"
    assert pending["data"]["escalated_to"] == ["boss"]
    assert pending["actor"] == "dispatch-assignment"
    offered = {
        events[1]["data"]["offers"][0]["technician"],
        events[3]["data"]["offers"][0]["technician"],
    }
    assert offered == {"wang", "li"}
    queue = await api.client.get("/v1/dispatch/queue", headers=auth(Role.DISPATCHER))
    assert [(p["project"], p["count"]) for p in queue.json()["items"]] == [("sunny", 1)]


async def test_with_nobody_eligible_the_report_enters_the_queue_and_is_escalated(
    api: Api,
) -> None:
    await hire(api, "zhao", trades=("electrical",))
    await hire(api, "off-duty", on_duty=False)
    roster = {"shifts": [], "on_call": ["hotline-1"]}
    await api.client.put("/v1/projects/sunny/roster", json=roster, headers=MANAGER)
    await set_rule(api, "auto")

    order = await api.report()
    assigned = await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "zhao"})

    events = await events_of(api, order["id"])
    assert types(events)[:2] == ["workorder.reported", "workorder.dispatch_pending"]
    assert events[1]["data"] == {
        "reason": "nobody_eligible",
        "attempts": 0,
        "escalation": "on_call",
        "escalated_to": ["hotline-1"],
    }
    assert order["dispatch_pending"] is True
    assert assigned.status_code == 200
    queue = await api.client.get("/v1/dispatch/queue", headers=auth(Role.DISPATCHER))
    assert queue.json()["items"] == []


async def test_manual_mode_offers_nothing_and_suggests_a_ranked_list_with_reasons(
    api: Api,
) -> None:
    await hire(api, "wang")
    await hire(api, "li")
    await hire(api, "zhao", trades=("electrical",))
    await set_rule(api, "manual")
    busy = await api.report(category="other")
    await api.command(busy["id"], "assign", Role.DISPATCHER, {"assignee": "li"})

    order = await api.report()
    found = await api.client.get(
        f"/v1/work-orders/{order['id']}/suggestions", headers=auth(Role.DISPATCHER)
    )

    assert types(await events_of(api, order["id"])) == ["workorder.reported"]
    body = found.json()
    assert body["mode"] == "manual"
    assert [s["technician"] for s in body["suggestions"]] == ["wang", "li"]
    assert body["suggestions"][1]["open_orders"] == 1
    zhao = next(n for n in body["not_eligible"] if n["staff_id"] == "zhao")
    assert {"staff_id": "zhao", "why": "no plumbing skill"}.items() <= zhao.items()


async def test_suggestions_carry_the_facts_of_their_reasons_and_a_code_for_each_refusal(
    api: Api,
) -> None:
    await hire(api, "wang")
    await hire(api, "li", max_open_orders=1)
    await hire(api, "zhao", trades=("electrical",))
    await hire(api, "sun", on_duty=False)
    await hire(api, "qian", buildings=["b9"])
    await hire(api, "boss", role="supervisor")
    await set_rule(api, "manual")
    busy = await api.report(category="other")
    await api.command(busy["id"], "assign", Role.DISPATCHER, {"assignee": "li"})

    order = await api.report()
    urgent = await api.report(urgency="urgent")
    found = await api.client.get(
        f"/v1/work-orders/{order['id']}/suggestions", headers=auth(Role.DISPATCHER)
    )
    found_urgent = await api.client.get(
        f"/v1/work-orders/{urgent['id']}/suggestions", headers=auth(Role.DISPATCHER)
    )

    body = found.json()
    (wang,) = body["suggestions"]
    assert wang["technician"] == "wang"
    assert wang["reasons"][:2] == ["skill plumbing", "covers sunny building b1"]
    assert (wang["trade"], wang["project"], wang["building"], wang["limit"]) == (
        "plumbing",
        "sunny",
        "b1",
        5,
    )
    refusals = {n["staff_id"]: n for n in body["not_eligible"]}
    facts = {"trade": None, "availability": None, "open_orders": None, "limit": None}
    assert refusals == {
        "boss": {"staff_id": "boss", "why": "not a technician", "code": "not_technician"} | facts,
        "li": {"staff_id": "li", "why": "has 1 open orders, limit 1", "code": "at_load_limit"}
        | facts
        | {"open_orders": 1, "limit": 1},
        "qian": {"staff_id": "qian", "why": "does not cover this location"}
        | {"code": "not_covering"}
        | facts,
        "sun": {"staff_id": "sun", "why": "availability is off", "code": "unavailable"}
        | facts
        | {"availability": "off"},
        "zhao": {"staff_id": "zhao", "why": "no plumbing skill", "code": "no_skill"}
        | facts
        | {"trade": "plumbing"},
    }
    by_urgency = {s["technician"]: s for s in found_urgent.json()["suggestions"]}
    assert by_urgency["li"]["limit"] is None and by_urgency["wang"]["limit"] is None
    assert "1 open orders (urgent: load limit skipped)" in by_urgency["li"]["reasons"]


async def test_without_a_rule_a_report_is_left_to_the_dispatcher(api: Api) -> None:
    await hire(api, "wang")

    order = await api.report()

    assert types(await events_of(api, order["id"])) == ["workorder.reported"]
    assert order["offered_to"] == []


async def test_only_managers_keep_the_directory_and_bad_bodies_are_problems(api: Api) -> None:
    body = {"name": "x", "team": "maintenance", "trades": ["plumbing"], "projects": ["sunny"]}
    by_technician = await api.client.put(
        "/v1/staff/x", json=body, headers=auth(Role.TECHNICIAN, subject="x")
    )
    bad = await api.client.put(
        "/v1/staff/x", json={**body, "trades": ["Plumbing!"]}, headers=MANAGER
    )
    elsewhere = await api.client.put(
        "/v1/staff/x", json=body, headers=auth(Role.PROJECT_MANAGER, projects=["river"])
    )
    bad_rule = await api.client.put(
        "/v1/projects/sunny/dispatch-rules/plumbing",
        json={"mode": "fastest", "trade": "plumbing"},
        headers=MANAGER,
    )

    assert by_technician.status_code == 403
    assert by_technician.json()["code"] == "role_not_allowed"
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert elsewhere.status_code == 404
    assert bad_rule.status_code == 422
    listed = await api.client.get("/v1/staff", headers=MANAGER)
    assert listed.json()["items"] == []


async def test_a_technician_sets_only_their_own_availability(api: Api) -> None:
    await hire(api, "wang", on_duty=False)
    await hire(api, "li", on_duty=False)

    own = await api.client.put(
        "/v1/staff/wang/availability",
        json={"availability": "busy"},
        headers=auth(Role.TECHNICIAN, subject="wang"),
    )
    other = await api.client.put(
        "/v1/staff/li/availability",
        json={"availability": "on_duty"},
        headers=auth(Role.TECHNICIAN, subject="wang"),
    )

    assert own.json()["availability"] == "busy"
    assert other.status_code == 403
    read = await api.client.get("/v1/staff/li", headers=MANAGER)
    assert read.json()["availability"] == "off"


async def test_a_roster_shift_decides_who_is_on_duty(api: Api) -> None:
    await hire(api, "day")
    await hire(api, "night")
    roster = {
        "shifts": [
            {
                "name": "day",
                "team": "maintenance",
                "members": ["day"],
                "calendar": {"kind": "daily", "windows": [["08:00", "20:00"]]},
            },
            {
                "name": "night",
                "team": "maintenance",
                "members": ["night"],
                "calendar": {"kind": "daily", "windows": [["00:00", "08:00"], ["20:00", "24:00"]]},
            },
        ]
    }
    put = await api.client.put("/v1/projects/sunny/roster", json=roster, headers=MANAGER)
    await set_rule(api, "grab")

    order = await api.report()  # 10:00 in Shanghai
    read = await api.client.get("/v1/projects/sunny/roster", headers=MANAGER)

    assert put.status_code == 200, put.text
    assert read.json()["on_duty_now"] == ["day"]
    assert order["offered_to"] == ["day"]


async def test_urgent_orders_skip_the_load_limit(api: Api) -> None:
    await hire(api, "wang")
    await set_rule(api, "auto", load_limit=1)
    first = await api.report()
    await api.command(first["id"], "accept-offer", Role.TECHNICIAN, subject="wang")

    normal = await api.report()
    urgent = await api.report(urgency="urgent")

    assert normal["dispatch_pending"] is True
    assert urgent["offered_to"] == ["wang"]


async def test_the_offer_timer_is_rebuilt_from_the_events(api: Api) -> None:
    await hire(api, "wang")
    await set_rule(api, "auto")
    order = await api.report()
    c = t.sla_timers.c
    offer_rows = select(c.work_order_id, c.key, c.fires_at).where(c.clock == "offer")
    async with api.dispatch.engine.begin() as conn:
        before = (await conn.execute(offer_rows)).all()
        await conn.execute(t.sla_timers.delete())

    await rebuild_sla_timers(api.dispatch.store, api.dispatch.sla_policies)

    async with api.dispatch.engine.connect() as conn:
        after = (await conn.execute(offer_rows)).all()
    assert before == after
    assert [(w, k) for w, k, _ in after] == [(order["id"], "offer:1")]


async def test_assignments_carry_the_assignees_team_at_that_moment(api: Api) -> None:
    await hire(api, "wang")
    await hire(api, "li", team="electricians")
    await set_rule(api, "auto")
    offered = await api.report()
    taker = offered["offered_to"][0]
    other = "li" if taker == "wang" else "wang"
    by_hand = await api.report(category="other")

    await api.command(offered["id"], "accept-offer", Role.TECHNICIAN, subject=taker)
    await api.command(
        offered["id"], "reassign", Role.DISPATCHER, {"to_assignee": other, "reason": "skills"}
    )
    await api.command(by_hand["id"], "assign", Role.DISPATCHER, {"assignee": "outsider"})

    teams = {"wang": "maintenance", "li": "electricians"}
    accepted = await events_of(api, offered["id"])
    # The directory's name goes with the team (the staff members are named as their ids).
    assert accepted[-2]["data"] == {"assignee": taker, "team": teams[taker], "assignee_name": taker}
    assert accepted[-1]["data"]["team"] == teams[other]
    assert accepted[-1]["data"]["to_assignee_name"] == other
    # Someone the directory does not know (a contractor, say) is assigned without a team
    # or a name.
    manual = await events_of(api, by_hand["id"])
    assert manual[-1]["data"] == {"assignee": "outsider", "team": None, "assignee_name": None}


async def test_decisions_waiting_together_share_one_fresh_workload_read(api: Api) -> None:
    for person in ("wang", "li", "zhao"):
        await hire(api, person)
    await set_rule(api, "auto")
    order = await api.report()
    taker = order["offered_to"][0]
    await api.command(order["id"], "accept-offer", Role.TECHNICIAN, subject=taker)
    staff = api.dispatch.staff

    asked = [["wang"], ["li"], ["zhao"], ["wang", "li", "zhao"], [], ["nobody"]] * 10
    reads_before = _workload_reads()
    answers = await asyncio.gather(*(staff.workloads(TENANT, ids) for ids in asked))
    reads = _workload_reads() - reads_before
    elsewhere = await staff.workloads("another-tenant", [taker])

    for ids, answer in zip(asked, answers, strict=True):
        assert set(answer) == ({taker} & set(ids))
        if taker in answer:
            assert answer[taker].open_orders == 1
            assert answer[taker].last_assigned_at is not None
    assert elsewhere == {}
    # Fifty decisions asked while none was answered yet: a query or two, not fifty.
    assert 1 <= reads <= 2


def _workload_reads() -> float:
    return REGISTRY.get_sample_value("dispatch_workload_read_group_size_count") or 0.0


async def test_a_reopened_order_goes_back_to_its_technician_or_is_offered_again(
    api: Api,
) -> None:
    await hire(api, "wang")
    await set_rule(api, "auto", offer_seconds=60)
    complaint = await api.report(kind="complaint")
    repair = await api.report()
    await api.command(repair["id"], "accept-offer", Role.TECHNICIAN, subject="wang")
    for step in ("arrive", "start-work"):
        await api.command(repair["id"], step, Role.TECHNICIAN, subject="wang")
    await api.command(
        repair["id"], "complete", Role.TECHNICIAN, {"summary": "new valve"}, subject="wang"
    )
    # Settled by phone before anyone went: the open offer ends with it.
    settled = await api.command(
        complaint["id"], "complete", Role.SUPERVISOR, {"summary": "talked to the neighbour"}
    )
    late = await api.command(complaint["id"], "accept-offer", Role.TECHNICIAN, subject="wang")
    api.clock.advance(timedelta(minutes=5))

    complaint_back = await api.command(
        complaint["id"], "reopen", Role.CUSTOMER_SERVICE, {"reason": "noise again"}
    )
    repair_back = await api.command(
        repair["id"], "reopen", Role.CUSTOMER_SERVICE, {"reason": "leaks again"}
    )

    assert settled.json()["offered_to"] == []
    assert late.status_code == 409
    assert late.json()["code"] == "no_open_offer"
    assert types(await events_of(api, complaint["id"]))[-2:] == [
        "workorder.reopened",
        "workorder.offered",
    ]
    assert complaint_back.json()["offered_to"] == ["wang"]
    assert complaint_back.json()["offer_attempt"] == 1
    assert types(await events_of(api, repair["id"]))[-1] == "workorder.reopened"
    assert (repair_back.json()["status"], repair_back.json()["assignee"]) == ("assigned", "wang")


async def test_decisions_arriving_while_a_projects_setup_loads_share_that_load(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hire(api, "wang")
    await set_rule(api, "auto")
    loads: list[str] = []
    real = staff_directory._project_setup

    def counted(conn: Any, tenant: str, project: str) -> Any:
        loads.append(project)
        return real(conn, tenant, project)

    monkeypatch.setattr(staff_directory, "_project_setup", counted)
    staff = api.dispatch.staff

    facts = await asyncio.gather(
        *(staff.dispatch_facts(TENANT, "sunny", "plumbing") for _ in range(20))
    )

    assert loads == ["sunny"]
    assert all(f is not None and [m.id for m in f.staff] == ["wang"] for f in facts)
    # A change through this process is seen by the next decision: no stale setup is kept.
    await hire(api, "li")
    later = await staff.dispatch_facts(TENANT, "sunny", "plumbing")
    assert later is not None and [m.id for m in later.staff] == ["li", "wang"]
    assert loads == ["sunny", "sunny"]


async def test_a_second_reopen_escalates_to_the_supervisor_on_duty_by_name(api: Api) -> None:
    await hire(api, "wang")
    await hire(api, "sup-chen", role="supervisor")
    await set_rule(api, "auto", offer_seconds=60)
    repair = await api.report()
    await api.command(repair["id"], "accept-offer", Role.TECHNICIAN, subject="wang")
    for round_ in range(2):
        for step in ("arrive", "start-work"):
            done = await api.command(repair["id"], step, Role.TECHNICIAN, subject="wang")
            assert done.status_code == 200, (round_, step, done.text)
        done = await api.command(
            repair["id"], "complete", Role.TECHNICIAN, {"summary": "valve"}, subject="wang"
        )
        assert done.status_code == 200, done.text
        back = await api.command(
            repair["id"], "reopen", Role.CUSTOMER_SERVICE, {"reason": "leaks again"}
        )
        assert back.status_code == 200, back.text

    # The event-driven step of the ladder comes with the command, not a timer: it names
    # the supervisor on duty as the scheduler's steps do.
    escalations = [
        e["data"]
        for e in await events_of(api, repair["id"], with_sla=True)
        if e["type"] == "workorder.sla_escalated.v1"
    ]
    assert [(e["trigger"], e["to_role"]) for e in escalations] == [("second_reopen", "supervisor")]
    assert escalations[0]["to_people"] == ["sup-chen"]
    assert escalations[0]["to_people_source"] == "on_duty_supervisor"
