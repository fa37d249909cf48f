"""Partitioned rebuild: worker processes, each a share of the projects, build the same read
model as one process and as the live projector; a failed worker switches nothing."""

from __future__ import annotations

import asyncio
import copy
import os
from functools import partial
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from typer.testing import CliRunner

from services.reporting.adapters import tables
from services.reporting.adapters.generations import GENERATION_TABLES
from services.reporting.adapters.rebuild import RebuildFailed, Workers, rebuild
from services.reporting.adapters.replay_partition import REBUILD_CONSUMER, ReplayJob
from services.reporting.adapters.replay_workers import work
from services.reporting.adapters.store import ReadModelStore
from services.reporting.entrypoints import cli
from shared.nats import connect, ensure_streams
from tests.integration.reporting.api_support import running_reporting
from tests.integration.reporting.conftest import Bus
from tests.integration.reporting.scripted_week import NOW, week
from wo.processes import NatsServer

PERIOD_PARAMS: dict[str, Any] = {"from": "2026-09-21", "to": "2026-09-28"}

# Columns that say when a row was written, not what it holds.
WRITTEN_AT = {"updated_at", "recorded_at", "id"}


def moved(raw: dict[str, Any], tenant: str, projects: dict[str, str]) -> dict[str, Any]:
    """An event of the scripted week as if it happened in another tenant's projects."""
    event = copy.deepcopy(raw)
    event["tenant"] = tenant
    event["project"] = projects[str(raw["project"])]
    subject = str(raw["subject"])
    event["subject"] = (
        f"project:{tenant}:{event['project']}"
        if subject.startswith("project:")
        else f"{tenant}-{subject}"
    )
    event["id"] = str(uuid5(NAMESPACE_URL, f"{tenant}/{raw['id']}"))
    return event


def history() -> list[dict[str, Any]]:
    """The week in three tenants (six projects), with a redelivered event, an event whose
    stream has a gap before it (it stays waiting), and a poison event."""
    events, _ = week()
    raws = [dict(e) for e in events]
    every = [
        *raws,
        *(moved(e, "globex", {"sunny": "north", "river": "south"}) for e in raws),
        *(moved(e, "initech", {"sunny": "east", "river": "west"}) for e in raws),
    ]
    orders = [e for e in every if str(e["type"]).startswith("workorder.reported")]
    last = {
        o["subject"]: max(int(e["sequence"]) for e in every if e["subject"] == o["subject"])
        for o in orders
    }
    waiting = copy.deepcopy(next(e for e in every if str(e["type"]).startswith("workorder.ass")))
    waiting["id"] = str(uuid5(NAMESPACE_URL, "waiting"))
    waiting["sequence"] = last[waiting["subject"]] + 5
    poison = copy.deepcopy(orders[-1])
    poison["id"] = str(uuid5(NAMESPACE_URL, "poison"))
    poison["type"] = "workorder.assigned.v1"
    poison["data"] = {"not": "an assignment"}
    poison["sequence"] = last[poison["subject"]] + 1
    return [*every, every[5], waiting, poison]


def read_model(conn: Connection, generation: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows of `generation` (without when they were written)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table in GENERATION_TABLES:
        columns = [c for c in table.c if c.name not in WRITTEN_AT | {"generation"}]
        query = select(*columns).where(table.c.generation == generation)
        if "samples" in table.c:
            # A count that went up and back down leaves a zero row behind, harmlessly.
            query = query.where(table.c.samples != 0)
        found[table.name] = sorted(tuple(row) for row in conn.execute(query))
    return found


def rebuild_dead_letters(conn: Connection) -> list[tuple[Any, ...]]:
    """The dead letters the rebuilds recorded, then forgotten (so the next one records its own)."""
    d = tables.dead_letters
    columns = [c for c in d.c if c.name not in WRITTEN_AT]
    rows = sorted(
        tuple(r) for r in conn.execute(select(*columns).where(d.c.consumer == REBUILD_CONSUMER))
    )
    conn.execute(delete(d).where(d.c.consumer == REBUILD_CONSUMER))
    return rows


async def snapshot(store: ReadModelStore) -> dict[str, list[tuple[Any, ...]]]:
    generation = await store.current_generation()
    return await store.database.run(read_model, generation)


async def test_workers_build_the_same_read_model_as_one_process_and_the_live_projector(
    database_url: str, nats_server: NatsServer, bus: Bus
) -> None:
    async with running_reporting(database_url, nats_server.url, NOW) as api:
        store = api.reporting.store
        await api.caught_up(await bus.publish(history()))
        live = await snapshot(store)
        assert live["rp_pending"] and live["rp_kpi_samples"]
        assert {row[0] for row in live["rp_projects"]} == {"acme", "globex", "initech"}

        alone = await rebuild(
            store, bus.client, api.reporting.settings.consumer_durable, batch_size=4
        )
        one_process = await snapshot(store)
        alone_dead = await store.database.run(rebuild_dead_letters, write=True)

        workers = Workers(3, nats_server.url, database_url)
        split = await rebuild(
            store,
            bus.client,
            api.reporting.settings.consumer_durable,
            batch_size=4,
            workers=workers,
        )
        in_workers = await snapshot(store)
        split_dead = await store.database.run(rebuild_dead_letters, write=True)

        assert (alone.partitions, split.partitions) == (1, 3)
        assert split.events == alone.events == await bus.last_sequence()
        assert await store.current_generation() == split.generation == 3
        assert in_workers == one_process
        assert alone_dead == split_dead and len(split_dead) == 1
        # The live projector's tables hold the same rows, but for the checkpoints: the
        # rebuild's own, and the live one's count, which starts again in a new generation.
        checkpoints = "rp_checkpoints"
        assert {k: v for k, v in in_workers.items() if k != checkpoints} == {
            k: v for k, v in live.items() if k != checkpoints
        }
        positions = {r[:2] for r in in_workers[checkpoints]}
        assert positions == {(REBUILD_CONSUMER, split.stream_sequence)} | {
            r[:2] for r in live[checkpoints]
        }


def failing(
    how: str, index: int, job: ReplayJob, nats_url: str, database_url: str, reads: Any, results: Any
) -> None:
    """A worker process of which worker 1 fails while the others fill their share: it
    `dies` without a word, or its replay `raises` (its database cannot be opened)."""
    if index == 1 and how == "dies":
        os._exit(3)
    if index == 1 and how == "raises":
        database_url = "sqlite+aiosqlite:////nonexistent/reporting.db"
    work(index, job, nats_url, database_url, reads, results)


@pytest.mark.parametrize("how", ["dies", "raises"])
async def test_a_failed_worker_fails_the_rebuild_and_the_current_generation_goes_on_serving(
    database_url: str, nats_server: NatsServer, bus: Bus, how: str
) -> None:
    async with running_reporting(database_url, nats_server.url, NOW) as api:
        store = api.reporting.store
        await api.caught_up(await bus.publish(history()))
        before = await snapshot(store)
        figures = (await api.kpis(**PERIOD_PARAMS))["kpis"]

        workers = Workers(2, nats_server.url, database_url, entry=partial(failing, how))
        with pytest.raises(RebuildFailed, match="rebuild worker 1"):
            await rebuild(
                store, bus.client, api.reporting.settings.consumer_durable, workers=workers
            )

        assert await store.current_generation() == 1
        assert await snapshot(store) == before
        assert (await api.kpis(**PERIOD_PARAMS))["kpis"] == figures
        # The half-filled generation is gone.
        assert await store.database.run(read_model, 2) == {t.name: [] for t in GENERATION_TABLES}


def test_wo_reporting_rebuild_exits_non_zero_when_a_worker_fails(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}"

    async def publish() -> None:
        client = await connect(nats_server.url, "test")
        js = client.jetstream()
        await ensure_streams(js)
        await Bus(client, js).publish(history())
        await client.close()

    asyncio.run(publish())
    monkeypatch.setattr(cli, "Workers", partial(Workers, entry=partial(failing, "raises")))
    result = CliRunner().invoke(
        cli.reporting_app,
        ["rebuild", "--workers", "2", "--database-url", url, "--nats-url", nats_server.url],
    )
    assert result.exit_code == 1
    assert "rebuild worker 1 failed: OperationalError" in result.output
    assert "the read model was left as it was" in result.output
