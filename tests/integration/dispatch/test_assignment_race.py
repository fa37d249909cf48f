"""Grab orders (抢单) under contention: one winner, clear refusals, never two assignments."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from tests.integration.dispatch.api_support import Api
from tests.integration.dispatch.assignment_support import (
    accept,
    events_of,
    hire,
    scheduler_of,
    second_process,
    set_rule,
    types,
)


async def test_a_hundred_grabs_have_one_winner_and_ninety_nine_clear_refusals(api: Api) -> None:
    technicians = [f"tech-{n:03d}" for n in range(100)]
    for name in technicians:
        await hire(api, name)
    await set_rule(api, "grab")
    order = await api.report()
    assert len(order["offered_to"]) == 100

    answers = await asyncio.gather(*(accept(api.client, order["id"], t) for t in technicians))

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1, 409: 99}
    [winner] = [a.json()["assignee"] for a in answers if a.status_code == 200]
    for refusal in (a for a in answers if a.status_code == 409):
        assert refusal.headers["content-type"].startswith("application/problem+json")
        assert refusal.json()["code"] == "offer_taken"
        assert "someone else" in refusal.json()["detail"]
    events = await events_of(api, order["id"])
    assert types(events).count("workorder.assigned") == 1
    accepted = [e for e in events if e["type"] == "workorder.assignment_accepted.v1"]
    assert [e["data"]["technician"] for e in accepted] == [winner]
    assert len(accepted[0]["data"]["withdrawn"]) == 99


async def test_two_dispatch_processes_never_assign_one_order_twice(
    api: Api, database_url: str
) -> None:
    technicians = [f"tech-{n}" for n in range(8)]
    for name in technicians:
        await hire(api, name)
    await set_rule(api, "grab", category="plumbing")
    await set_rule(api, "auto", category="electrical", trade="plumbing")
    grabbed = [await api.report() for _ in range(10)]
    offered = [await api.report(category="electrical") for _ in range(10)]

    async with second_process(database_url) as other:
        # Every technician grabs every order, through both processes at once.
        await asyncio.gather(
            *(
                accept((api if n % 2 else other).client, order["id"], name)
                for order in grabbed
                for n, name in enumerate(technicians)
            )
        )
        # Both processes' schedulers expire the same unanswered offers at the same time.
        for running in (api, other):
            running.clock.advance(timedelta(seconds=61))
        await asyncio.gather(scheduler_of(api).fire_due(), scheduler_of(other).fire_due())
        await asyncio.gather(scheduler_of(api).fire_due(), scheduler_of(other).fire_due())

    for order in grabbed:
        assert types(await events_of(api, order["id"])).count("workorder.assigned") == 1
    for order in offered:
        events = await events_of(api, order["id"])
        expiries = Counter(e["data"]["attempt"] for e in events if "offer_expired" in e["type"])
        offers = Counter(e["data"]["attempt"] for e in events if "workorder.offered" in e["type"])
        assert expiries == {1: 1}
        assert offers == {1: 1, 2: 1}
        assert "workorder.assigned" not in types(events)
