"""The load limit at acceptance: one person holding several grab offers cannot accept their
way over it, in one process or two; urgent orders are exempt; the order is not lost."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import bindparam, func, select

from services.dispatch.adapters import load_guard
from services.dispatch.adapters import tables as t
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.service_layer.ports import AppendBatch, LoadGuard
from shared.auth import Role
from shared.database import create_engine
from shared.events.recorded import EventMetadata
from tests.conftest import FreshPostgresDatabase
from tests.integration.dispatch.api_support import Api, auth
from tests.integration.dispatch.assignment_support import (
    accept,
    events_of,
    hire,
    second_process,
    set_rule,
    types,
)


async def read(api: Api, work_order_id: str) -> dict[str, Any]:
    response = await api.client.get(
        f"/v1/work-orders/{work_order_id}", headers=auth(Role.SUPERVISOR)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def offer_timers(api: Api, work_order_id: str) -> list[str]:
    c = t.sla_timers.c
    query = select(c.key).where(c.work_order_id == work_order_id, c.clock == "offer")
    async with api.dispatch.engine.connect() as conn:
        return list((await conn.scalars(query)).all())


async def test_the_acceptance_that_would_go_over_the_limit_is_refused_and_the_order_stays_offered(
    api: Api,
) -> None:
    await hire(api, "wang")
    await hire(api, "li")
    await set_rule(api, "grab", load_limit=2)
    earlier = await api.report()
    assert (await accept(api.client, earlier["id"], "wang")).status_code == 200
    # wang is at the limit less one and holds the offers of two more orders.
    second = await api.report()
    third = await api.report()
    assert "wang" in second["offered_to"] and "wang" in third["offered_to"]
    assert (await accept(api.client, second["id"], "wang")).status_code == 200
    events_before = await api.event_count()

    refused = await accept(api.client, third["id"], "wang")

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "over_load_limit"
    assert "load limit is 2" in problem["detail"]
    assert problem["limit"] == 2
    assert sorted(problem["open_work_orders"]) == sorted([earlier["id"], second["id"]])
    assert await api.event_count() == events_before
    # The order is not lost: still offered, wang's offer included, and li can take it.
    after = await read(api, third["id"])
    assert after["status"] == "reported"
    assert sorted(after["offered_to"]) == ["li", "wang"]
    assert types(await events_of(api, third["id"])) == ["workorder.reported", "workorder.offered"]
    assert await offer_timers(api, third["id"]) == ["offer:1"]  # its expiry still runs
    taken = await accept(api.client, third["id"], "li")
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"] == "li"


async def test_the_persons_own_limit_holds_at_acceptance(api: Api) -> None:
    await hire(api, "wang", max_open_orders=1)
    await set_rule(api, "grab", load_limit=5)
    first = await api.report()
    second = await api.report()

    assert (await accept(api.client, first["id"], "wang")).status_code == 200
    refused = await accept(api.client, second["id"], "wang")

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "over_load_limit"
    assert refused.json()["limit"] == 1


async def test_urgent_orders_are_accepted_over_the_limit(api: Api) -> None:
    await hire(api, "wang")
    await set_rule(api, "grab", load_limit=1)
    normal = await api.report()
    other = await api.report()
    urgent = await api.report(urgency="urgent")
    assert (await accept(api.client, normal["id"], "wang")).status_code == 200

    refused = await accept(api.client, other["id"], "wang")
    taken = await accept(api.client, urgent["id"], "wang")

    assert refused.status_code == 409
    assert refused.json()["code"] == "over_load_limit"
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"] == "wang"


async def test_simultaneous_acceptances_by_one_person_leave_them_within_the_limit(
    api: Api,
) -> None:
    await hire(api, "wang")
    await set_rule(api, "grab", load_limit=2)
    orders = [await api.report() for _ in range(6)]

    answers = await asyncio.gather(*(accept(api.client, o["id"], "wang") for o in orders))

    assert Counter(a.status_code for a in answers) == {200: 2, 409: 4}
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"over_load_limit"}
    workload = await api.client.get("/v1/staff/wang/workload", headers=auth(Role.SUPERVISOR))
    assert workload.json()["open_orders"] == 2


async def test_two_dispatch_processes_together_keep_one_person_within_the_limit(
    api: Api, database_url: str
) -> None:
    await hire(api, "wang")
    await set_rule(api, "grab", load_limit=3)
    orders = [await api.report() for _ in range(10)]

    async with second_process(database_url) as other:
        answers = await asyncio.gather(
            *(
                accept((api if n % 2 else other).client, o["id"], "wang")
                for n, o in enumerate(orders)
            )
        )

    assert Counter(a.status_code for a in answers) == {200: 3, 409: 7}
    assigned = [o for o in orders if "workorder.assigned" in types(await events_of(api, o["id"]))]
    assert len(assigned) == 3


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="the advisory lock is PostgreSQL's"
)
async def test_on_postgresql_a_guarded_append_holds_its_persons_lock_until_it_commits() -> None:
    async with FreshPostgresDatabase() as url:
        engine = create_engine(url)
        await upgrade(engine)
        batch = AppendBatch(
            stream_id="wo-1",
            expected_version=1,
            tenant="acme",
            project="sunny",
            events=(),
            metadata=EventMetadata(actor="wang", correlation_id="test"),
            inline=(LoadGuard("wang", 2),),
        )
        try_lock = select(func.pg_try_advisory_xact_lock(bindparam("key")))
        async with engine.connect() as writer, writer.begin():
            loads = await writer.run_sync(load_guard.lock_and_read, [batch])
            async with engine.connect() as other, other.begin():
                wang = await other.scalar(try_lock, {"key": load_guard.lock_key("acme", "wang")})
                li = await other.scalar(try_lock, {"key": load_guard.lock_key("acme", "li")})
        async with engine.connect() as after, after.begin():
            released = await after.scalar(try_lock, {"key": load_guard.lock_key("acme", "wang")})
        await engine.dispose()

    assert loads == {("acme", "wang"): set()}
    assert wang is False
    assert li is True
    assert released is True
