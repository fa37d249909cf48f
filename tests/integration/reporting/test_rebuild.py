"""Rebuild: the replayed read model equals the live one, and the API serves throughout."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables
from services.reporting.adapters.migrate import upgrade
from services.reporting.adapters.rebuild import rebuild
from services.reporting.adapters.store import ReadModelStore
from shared.clock import SystemClock
from shared.database import Database, create_engine
from shared.nats import connect, ensure_streams
from tests.integration.reporting.api_support import HQ, running_reporting
from tests.integration.reporting.conftest import Bus
from tests.integration.reporting.scripted_week import NOW, one_more_rating, week
from tests.unit.reporting.histories import TENANT
from wo.processes import NatsServer

PERIODS: tuple[dict[str, Any], ...] = (
    {"from": "2026-09-21", "to": "2026-09-28"},
    {"from": "2026-09-01", "to": "2026-10-01"},
)


async def _snapshot(store: ReadModelStore) -> list[dict[str, Any]]:
    orders, projects = await store.facts(TENANT)
    return sorted((o.to_json() for o in orders), key=lambda o: str(o["order_id"])) + [
        {"project": k, "households": v.households, "zone": v.time_zone}
        for k, v in sorted(projects.items())
    ]


async def _numbers(store: ReadModelStore) -> dict[str, str | None]:
    """The number column of the current generation's orders, by order."""
    generation = await store.current_generation()

    def work(conn: Connection) -> dict[str, str | None]:
        o = tables.orders.c
        query = select(o.order_id, o.number).where(o.generation == generation)
        return {order_id: number for order_id, number in conn.execute(query)}

    return await store.database.run(work)


async def _sums(store: ReadModelStore) -> dict[str, list[tuple[Any, ...]]]:
    """The KPI samples, roll-up and measure counts of the current generation, as rows."""
    generation = await store.current_generation()

    def work(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
        found: dict[str, list[tuple[Any, ...]]] = {}
        for table in (tables.kpi_samples, tables.kpi_rollup, tables.kpi_measures):
            columns = [c for c in table.c if c.name != "generation"]
            query = select(*columns).where(table.c.generation == generation)
            if "samples" in table.c:
                # A count that went up and back down leaves a zero row behind, harmlessly.
                query = query.where(table.c.samples != 0)
            found[table.name] = sorted(tuple(row) for row in conn.execute(query))
        return found

    return await store.database.run(work)


async def test_rebuild_equals_the_live_projection_and_the_api_serves_throughout(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    async with running_reporting(database_url, nats_server.url, NOW) as api:
        events, ids = week()
        await api.caught_up(await bus.publish(events))
        live_facts = await _snapshot(api.reporting.store)
        live_sums = await _sums(api.reporting.store)
        live_numbers = await _numbers(api.reporting.store)
        assert live_numbers and all(live_numbers.values())
        assert live_sums["rp_kpi_samples"] and live_sums["rp_kpi_rollup"]
        live = [(await api.kpis(**p))["kpis"] for p in PERIODS]

        answers: list[int] = []
        figures: list[object] = []
        done = asyncio.Event()

        async def keep_asking() -> None:
            while not done.is_set():
                response = await api.client.get("/v1/kpis", params=PERIODS[0], headers=HQ)
                answers.append(response.status_code)
                figures.append(response.json()["kpis"])
                await asyncio.sleep(0)

        poller = asyncio.create_task(keep_asking())
        result = await rebuild(
            api.reporting.store, bus.client, api.reporting.settings.consumer_durable, batch_size=5
        )
        done.set()
        await poller

        assert result.generation == 2 and result.previous_generation == 1
        assert result.events == len(events)
        assert await api.reporting.store.current_generation() == 2
        assert await _snapshot(api.reporting.store) == live_facts
        # The replay draws the samples once at the end; the sums equal the batch-by-batch ones.
        assert await _sums(api.reporting.store) == live_sums
        # The orders' numbers come from the report events: the replay fills them alike.
        assert await _numbers(api.reporting.store) == live_numbers
        assert [(await api.kpis(**p))["kpis"] for p in PERIODS] == live
        # Every answer during the rebuild was a whole read model: the old one or the new.
        assert answers and set(answers) == {200}
        assert all(f == live[0] for f in figures)

        # The live projector goes on in the new generation.
        rating = one_more_rating(events, ids["S1"], 5)
        await api.caught_up(await bus.publish([rating]))
        satisfaction = (await api.kpis(**PERIODS[0]))["by_name"]["satisfaction"]
        assert (satisfaction["numerator"], satisfaction["denominator"]) == (4, 5)


async def test_events_arriving_during_a_rebuild_are_in_the_new_generation(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    async with running_reporting(database_url, nats_server.url, NOW) as api:
        events, ids = week()
        await api.caught_up(await bus.publish(events))
        late = one_more_rating(events, ids["R2"], 1)
        published: list[asyncio.Task[int]] = []

        def on_progress(read: int, total: int) -> None:
            # Publish while the replay is under way: the event lands after the replay's
            # end point, so only the live projector or the catch-up can bring it in.
            if not published:
                published.append(asyncio.create_task(bus.publish([late])))

        await rebuild(
            api.reporting.store, bus.client, api.reporting.settings.consumer_durable, on_progress, 5
        )
        await api.caught_up(await published[0])
        satisfaction = (await api.kpis(**PERIODS[0]))["by_name"]["satisfaction"]
        assert (satisfaction["numerator"], satisfaction["denominator"]) == (3, 5)


def test_wo_reporting_rebuild_replays_the_stream_with_a_progress_bar(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}"
    events, _ = week()

    async def publish() -> None:
        client = await connect(nats_server.url, "test")
        await ensure_streams(client.jetstream())
        for raw in events:
            name = str(raw["type"]).rsplit(".", 1)[0]
            await client.jetstream().publish(
                f"events.{raw['tenant']}.{raw['project']}.{name}", orjson.dumps(raw)
            )
        await client.close()

    asyncio.run(publish())
    env = {**os.environ, "NATS_URL": nats_server.url, "DATABASE_URL": url, "COLUMNS": "120"}
    run = subprocess.run(
        [sys.executable, "-m", "wo", "reporting", "rebuild", "--batch-size", "7"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"from {len(events)} events" in run.stdout
    assert "events/s" in run.stdout

    async def figures() -> tuple[int, int]:
        engine = create_engine(url)
        await upgrade(engine)
        database = Database(engine)
        try:
            store = ReadModelStore(database, SystemClock())
            orders, _ = await store.facts(TENANT)
            return len(orders), await store.current_generation()
        finally:
            database.close()
            await engine.dispose()

    assert asyncio.run(figures()) == (10, 2)


def test_wo_reporting_rebuild_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "NATS_URL": "nats://127.0.0.1:1", "DATABASE_URL": "nonsense://x"}
    run = subprocess.run(
        [sys.executable, "-m", "wo", "reporting", "rebuild", "--connect-timeout", "0.5"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.startswith("error: invalid database URL")
    assert "Traceback" not in run.stderr
