"""SLA timers in dispatch: derived with every append, fired once, rebuilt from the events."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.sla_scheduler import SlaScheduler
from services.dispatch.adapters.sla_timer_table import rebuild_sla_timers
from services.dispatch.adapters.sql_timer_store import (
    NEXT_CLAIM_END,
    NEXT_UNCLAIMED,
    SqlTimerStore,
)
from services.dispatch.service_layer.sla import DefaultSlaPolicies
from shared.auth import Role
from shared.database import create_engine
from tests.integration.dispatch.api_support import NOW, Api, auth


def scheduler_of(api: Api) -> SlaScheduler:
    dispatch = api.dispatch
    return SlaScheduler(dispatch.engine, dispatch.store, dispatch.sla_policies, api.clock)


async def sla_events(api: Api, work_order_id: str) -> list[dict[str, Any]]:
    history = await api.client.get(
        f"/v1/work-orders/{work_order_id}/events", headers=auth(Role.SUPERVISOR)
    )
    return [e for e in history.json()["items"] if e["type"].startswith("workorder.sla_")]


async def timer_rows(api: Api) -> list[tuple[str, str, Any]]:
    c = t.sla_timers.c
    async with api.dispatch.engine.connect() as conn:
        rows = await conn.execute(
            select(c.work_order_id, c.key, c.fires_at).order_by(c.key, c.work_order_id)
        )
        return [tuple(r) for r in rows.all()]


async def test_a_report_starts_the_arrival_clock_with_its_next_timer_and_breach(
    api: Api,
) -> None:
    order = await api.report()

    started = [e for e in await sla_events(api, order["id"]) if e["data"]["clock"] == "arrival"]
    keys = {key for _, key, _ in await timer_rows(api) if key.startswith("arrival:")}

    assert started[0]["type"] == "workorder.sla_clock_started.v1"
    assert started[0]["data"]["due_at"].startswith((NOW + timedelta(minutes=3)).isoformat()[:19])
    # The later warning needs no row: it fires from the fresh state with the next one.
    assert keys == {"arrival:1:warning:0.5", "arrival:1:breach"}


async def test_every_timer_due_fires_in_order_though_only_the_next_has_a_row(api: Api) -> None:
    order = await api.report()
    api.clock.advance(timedelta(minutes=2, seconds=30))  # past both warnings, not the breach

    await scheduler_of(api).fire_due()

    raised = [e for e in await sla_events(api, order["id"]) if e["data"]["clock"] == "arrival"]
    warned = [e["data"]["threshold"] for e in raised if e["type"].startswith("workorder.sla_warn")]
    keys = {key for _, key, _ in await timer_rows(api) if key.startswith("arrival:")}
    assert warned == [0.5, 0.8]
    assert keys == {"arrival:1:breach"}


async def test_the_arrival_breach_fires_once_at_exactly_three_minutes(api: Api) -> None:
    order = await api.report()
    scheduler = scheduler_of(api)

    api.clock.advance(timedelta(minutes=2))
    await scheduler.fire_due()
    api.clock.advance(timedelta(minutes=5))  # the scheduler was down past the deadline
    await scheduler.fire_due()
    await scheduler.fire_due()  # nothing is left to fire twice

    events = [e for e in await sla_events(api, order["id"]) if e["data"]["clock"] == "arrival"]
    breaches = [e for e in events if e["type"] == "workorder.sla_clock_breached.v1"]
    warnings = [e for e in events if e["type"] == "workorder.sla_warning_raised.v1"]
    assert len(breaches) == 1
    assert breaches[0]["data"]["due_at"].startswith((NOW + timedelta(minutes=3)).isoformat()[:19])
    assert breaches[0]["data"]["detected_at"].startswith(
        (NOW + timedelta(minutes=7)).isoformat()[:19]
    )
    assert breaches[0]["actor"] == "sla-scheduler"
    assert sorted(w["data"]["threshold"] for w in warnings) == [0.5, 0.8]
    left = [key for _, key, _ in await timer_rows(api) if key.startswith("arrival:")]
    assert left == ["arrival:1:escalation:breach+30m:3"]  # the ladder goes on after a breach


async def test_arriving_in_time_meets_the_clock_and_clears_its_timers(api: Api) -> None:
    order = await api.report()
    await api.command(order["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    api.clock.advance(timedelta(minutes=2))
    await scheduler_of(api).fire_due()

    await api.command(order["id"], "arrive", Role.TECHNICIAN, subject="tech-wang")
    api.clock.advance(timedelta(minutes=5))
    await scheduler_of(api).fire_due()

    arrival = [e for e in await sla_events(api, order["id"]) if e["data"]["clock"] == "arrival"]
    assert [e["type"] for e in arrival] == [
        "workorder.sla_clock_started.v1",
        "workorder.sla_warning_raised.v1",
        "workorder.sla_escalated.v1",  # the ladder's first step: 50 % → the assignee
        "workorder.sla_clock_met.v1",
    ]
    assert arrival[2]["data"]["to_role"] == "assignee"
    assert arrival[-1]["data"]["on_time"] is True


async def test_the_running_loop_sleeps_until_the_next_timer(api: Api) -> None:
    order = await api.report()
    scheduler = scheduler_of(api)
    # Wired as the service wires it (bootstrap): woken by commits that write a sooner timer.
    api.dispatch.store.on_timers(scheduler.timers_written)
    task = asyncio.create_task(scheduler.run())
    wake_ups: list[datetime] = []
    try:
        seen = 0
        # Each move of time goes to where the scheduler said it would wake, once its round
        # has ended: nothing is left to luck, and every step shows when it meant to look.
        while len(wake_ups) < 10 and api.clock.now() <= NOW + timedelta(minutes=3):
            until = await asyncio.wait_for(scheduler.round_after(seen), timeout=30)
            seen = scheduler.rounds
            wake_ups.append(until)
            api.clock.advance(max(until - api.clock.now(), timedelta(0)))
        await asyncio.wait_for(scheduler.round_after(seen), timeout=30)
        types = [e["type"] for e in await sla_events(api, order["id"])]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "workorder.sla_clock_breached.v1" in types
    # It slept until the next timer each time (at most `max_sleep`, a minute): the
    # warnings at 50 % and 80 % of the 3 minutes, then the breach.
    assert [round((w - NOW).total_seconds()) for w in wake_ups[:4]] == [60, 90, 144, 180]


async def test_two_schedulers_record_each_breach_once(api: Api, database_url: str) -> None:
    orders = [await api.report() for _ in range(5)]
    api.clock.advance(timedelta(minutes=4))
    engine = create_engine(database_url)
    other_store = SqlEventStore(engine)
    other = SlaScheduler(engine, other_store, DefaultSlaPolicies(), api.clock, claim_seconds=0)
    try:
        await asyncio.gather(scheduler_of(api).fire_due(), other.fire_due())
        await asyncio.gather(scheduler_of(api).fire_due(), other.fire_due())
    finally:
        await other_store.close()
        await engine.dispose()

    for order in orders:
        types = [e["type"] for e in await sla_events(api, order["id"])]
        assert types.count("workorder.sla_clock_breached.v1") == 1


async def test_the_timer_table_rebuilt_from_the_events_is_the_same(api: Api) -> None:
    first = await api.report()
    await api.report(kind="complaint")
    await api.command(first["id"], "assign", Role.DISPATCHER, {"assignee": "tech-wang"})
    api.clock.advance(timedelta(minutes=2))
    await scheduler_of(api).fire_due()
    before = await timer_rows(api)

    async with api.dispatch.engine.begin() as conn:
        await conn.execute(t.sla_timers.delete())
    count = await rebuild_sla_timers(api.dispatch.store, api.dispatch.sla_policies)

    assert count == len(before) > 0
    assert await timer_rows(api) == before


async def test_the_scheduler_finds_its_next_timer_through_an_index_without_sorting(
    api: Api,
) -> None:
    """A sort over every unclaimed timer, on each wake-up, starved the scheduler at scale."""
    engine = api.dispatch.engine
    for query, index in (
        (NEXT_UNCLAIMED, "ix_sla_timers_unclaimed"),
        (NEXT_CLAIM_END, "ix_sla_timers_claimed"),
    ):
        compiled = query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")).all()
                details = " ".join(str(row[-1]) for row in plan)
                assert "TEMP B-TREE" not in details
            else:
                # The table is nearly empty here: forbid the sequential scan that a
                # planner rightly prefers for a handful of rows.
                await conn.exec_driver_sql("SET enable_seqscan = off")
                plan = (await conn.exec_driver_sql(f"EXPLAIN {compiled}")).all()
                details = " ".join(str(row[0]) for row in plan)
                assert "Sort" not in details
            assert index in details


async def test_a_commit_wakes_the_scheduler_only_for_a_timer_due_before_it_would_wake(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    looks: list[object] = []
    original = SqlTimerStore.next_fire_time

    async def counted(timers: SqlTimerStore) -> Any:
        found = await original(timers)
        looks.append(found)
        return found

    async def until_looked(times: int) -> None:
        for _ in range(500):  # bounded wait for the scheduler's round to finish
            if len(looks) >= times and scheduler.asleep_until is not None:
                return
            await asyncio.sleep(0.01)

    monkeypatch.setattr(SqlTimerStore, "next_fire_time", counted)
    await api.report()
    scheduler = scheduler_of(api)
    api.dispatch.store.on_timers(scheduler.timers_written)
    running = asyncio.create_task(scheduler.run())
    try:
        await until_looked(1)
        asleep_until = scheduler.asleep_until
        # Same instant, so the new order's first timer is not sooner than the first's. The
        # commit tells the scheduler before `report` returns: whether it asked for a look
        # is known now, without waiting to see whether a round happens.
        await api.report()
        assert not scheduler.wake_pending
        after_a_later_timer = (len(looks), scheduler.asleep_until)
        scheduler.timers_written(NOW)
        assert scheduler.wake_pending
        await until_looked(2)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    assert asleep_until is not None and asleep_until > NOW  # the first order's first timer
    assert after_a_later_timer == (1, asleep_until)
    assert len(looks) == 2
