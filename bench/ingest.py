"""Ingest benchmark: HTTP commands/s and latency, beside the raw SQL insert and NATS publish rates.

Usage: python -m bench.ingest [--postgres URL] [--seconds 20] [--clients 32] [--rate 300]

Starts nats-server and a real `python -m services.dispatch` process (relay enabled) on
loopback, then in one run measures:
1. saturation: `--clients` closed-loop clients each running work-order flows
   (report, assign, arrive, start-work, complete): commands/s, p50/p99 per command;
2. fixed rate: flows started at `--rate` commands/s for `--seconds`, latency measured from
   each flow's scheduled start so a stalled server is not hidden (no coordinated omission);
3. the raw rate of a batched SQLAlchemy insert of event-sized rows into the same database;
4. the raw rate of concurrent nats-py JetStream publishes to the same server;
5. the outbox relay draining a backlog of the same size into JetStream (its rate vs 4).
Every loop is bounded in count and time. Results go to stdout and bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Uuid, insert

from bench.support import (
    Stopwatch,
    dev_token,
    dispatch_stack,
    machine,
    percentile,
    register_project,
)
from services.dispatch.adapters.database import create_engine
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.service_layer.ports import AppendBatch, NewEvent
from shared.auth import Role
from shared.clock import SystemClock
from shared.events.recorded import EventMetadata
from shared.nats import connect, ensure_streams
from tests.integration.dispatch.api_support import report_body

PROJECT = "bench-a"
REPORT = report_body(project=PROJECT, description="厨房水管漏水,需要尽快上门维修")


class Flow:
    """One work order's life over HTTP: five commands, latencies recorded per command."""

    def __init__(self, client: httpx.AsyncClient, latencies: dict[str, list[float]]) -> None:
        self.client = client
        self.latencies = latencies
        self.cs = {"Authorization": f"Bearer {dev_token(Role.CUSTOMER_SERVICE)}"}
        self.dispatcher = {"Authorization": f"Bearer {dev_token(Role.DISPATCHER)}"}
        self.tech = {"Authorization": f"Bearer {dev_token(Role.TECHNICIAN, subject='tech-1')}"}

    async def run(self, started: float | None = None) -> int:
        """Run the flow; return the number of successful commands."""
        done = 0
        response = await self._timed("report", started, "/v1/work-orders", REPORT, self.cs)
        if response.status_code != 201:
            return done
        done += 1
        wid = response.json()["id"]
        for name, body, headers in (
            ("assign", {"assignee": "tech-1"}, self.dispatcher),
            ("arrive", None, self.tech),
            ("start-work", None, self.tech),
            ("complete", {"summary": "换了水管"}, self.tech),
        ):
            response = await self._timed(name, None, f"/v1/work-orders/{wid}/{name}", body, headers)
            if response.status_code != 200:
                raise RuntimeError(f"{name} failed: {response.status_code} {response.text}")
            done += 1
        return done

    async def _timed(
        self, name: str, started: float | None, path: str, body: Any, headers: dict[str, str]
    ) -> httpx.Response:
        begin = started if started is not None else time.perf_counter()
        response = await self.client.post(path, json=body, headers=headers)
        self.latencies.setdefault(name, []).append(time.perf_counter() - begin)
        return response


def summarize(latencies: dict[str, list[float]]) -> dict[str, Any]:
    """p50/p99 in ms over all commands and per command."""
    every = [v for values in latencies.values() for v in values]
    result: dict[str, Any] = {
        "commands": len(every),
        "p50_ms": round(percentile(every, 0.50) * 1000, 2),
        "p99_ms": round(percentile(every, 0.99) * 1000, 2),
        "max_ms": round(max(every, default=0) * 1000, 2),
    }
    result["per_command"] = {
        name: {
            "p50_ms": round(percentile(v, 0.5) * 1000, 2),
            "p99_ms": round(percentile(v, 0.99) * 1000, 2),
        }
        for name, v in latencies.items()
    }
    return result


async def saturation(base_url: str, clients: int, seconds: float, max_flows: int) -> dict[str, Any]:
    """Closed loop: `clients` concurrent flows back to back until time or count runs out."""
    latencies: dict[str, list[float]] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        await Flow(client, {}).run()  # warm up connections and caches
        watch = Stopwatch()
        started = 0
        commands = 0

        async def worker() -> None:
            nonlocal started, commands
            flow = Flow(client, latencies)
            while watch.elapsed < seconds and started < max_flows:
                started += 1
                done = await flow.run()
                commands += done

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = watch.elapsed
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "commands_per_s": round(commands / elapsed, 1),
    } | (summarize(latencies))


async def fixed_rate(base_url: str, rate: float, seconds: float) -> dict[str, Any]:
    """Open loop: start a flow every 5/rate seconds (5 commands each) for `seconds`."""
    latencies: dict[str, list[float]] = {}
    interval = 5.0 / rate
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        await Flow(client, {}).run()
        flows: list[asyncio.Task[int]] = []
        watch = Stopwatch()
        n = 0
        while watch.elapsed < seconds:
            due = watch.started + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            flows.append(asyncio.create_task(Flow(client, latencies).run(started=due)))
            n += 1
        done = sum(await asyncio.gather(*flows))
        elapsed = watch.elapsed
    return {
        "target_commands_per_s": rate,
        "achieved_commands_per_s": round(done / elapsed, 1),
    } | summarize(latencies)


async def raw_insert(database_url: str, rows: int, batch: int = 256) -> dict[str, Any]:
    """Batched SQLAlchemy Core insert of event-sized rows into a scratch table."""
    metadata = MetaData()
    table = Table(
        f"bench_raw_{uuid.uuid4().hex[:8]}",
        metadata,
        Column("stream_id", String(64), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("event_id", Uuid),
        Column("type_name", String(100)),
        Column("data", JSON),
    )
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    payload = {"note": "x" * 200}
    watch = Stopwatch()
    for start in range(0, rows, batch):
        values = [
            {
                "stream_id": str(uuid.uuid4()),
                "version": 1,
                "event_id": uuid.uuid4(),
                "type_name": "t",
                "data": payload,
            }
            for _ in range(min(batch, rows - start))
        ]
        async with engine.begin() as conn:
            await conn.execute(insert(table), values)
    elapsed = watch.elapsed
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()
    return {"rows": rows, "batch": batch, "rows_per_s": round(rows / elapsed, 1)}


async def raw_publish(nats_url: str, messages: int, payload: bytes) -> dict[str, Any]:
    """Concurrent JetStream publishes (publish_async, acks awaited) with Nats-Msg-Id."""
    nc = await connect(nats_url, "bench-raw")
    js = nc.jetstream()
    from nats.js.api import StorageType, StreamConfig

    await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"], storage=StorageType.FILE))
    watch = Stopwatch()
    futures = []
    for i in range(messages):
        futures.append(
            await js.publish_async(
                f"bench.raw.{i % 64}", payload, headers={"Nats-Msg-Id": str(uuid.uuid4())}
            )
        )
    await asyncio.wait_for(asyncio.gather(*futures), 60)
    elapsed = watch.elapsed
    await js.delete_stream("BENCH")
    await nc.close()
    return {
        "messages": messages,
        "bytes": len(payload),
        "messages_per_s": round(messages / elapsed, 1),
    }


async def relay_drain(database_url: str, nats_url: str, events: int) -> dict[str, Any]:
    """Fill the outbox with `events` events, then time the relay publishing all of them."""
    from services.dispatch.adapters.relay import OutboxRelay

    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlEventStore(engine)
    meta = EventMetadata(actor="bench", correlation_id="bench")
    now = datetime.now(UTC)
    per_stream = 5
    await asyncio.gather(
        *(
            store.append(
                AppendBatch(
                    str(uuid.uuid4()),
                    0,
                    "bench",
                    PROJECT,
                    tuple(
                        NewEvent(
                            uuid.uuid4(), "workorder.progress_reported", 1, now, {"note": "x" * 200}
                        )
                        for _ in range(per_stream)
                    ),
                    meta,
                )
            )
            for _ in range(events // per_stream)
        )
    )
    await store.close()
    backlog_before = await SqlEventStore(engine).outbox_backlog()
    nc = await connect(nats_url, "bench-relay")
    js = nc.jetstream()
    await ensure_streams(js)
    relay = OutboxRelay(
        engine, js, batch_size=1000, poll_interval=1.0, publish_timeout=10.0, clock=SystemClock()
    )
    watch = Stopwatch()
    published = 0
    while watch.elapsed < 120:
        count = await relay.publish_pending()
        published += count
        if count == 0 and await SqlEventStore(engine).outbox_backlog() == 0:
            break
    elapsed = watch.elapsed
    await nc.close()
    await engine.dispose()
    return {
        "backlog": backlog_before,
        "published": published,
        "events_per_s": round(published / elapsed, 1),
    }


async def sample_payload(database_url: str) -> bytes:
    """A real envelope from the outbox, so raw publishes carry the same bytes as the relay."""
    from sqlalchemy import select

    from services.dispatch.adapters import tables as t

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        payload = await conn.scalar(select(t.outbox.c.payload).limit(1))
    await engine.dispose()
    return bytes(payload) if payload else orjson.dumps(REPORT)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", help="PostgreSQL admin URL; a fresh database is created next to it"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--relay-events", type=int, default=20_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        if args.postgres:
            import os

            from tests.conftest import FreshPostgresDatabase

            os.environ["TEST_DATABASE_URL"] = args.postgres
            database = FreshPostgresDatabase()
            database_url = await database.__aenter__()
            backend = "postgresql"
        else:
            database = None
            database_url = f"sqlite+aiosqlite:///{workdir / 'dispatch.db'}"
            backend = "sqlite"
        try:
            results: dict[str, Any] = {
                "backend": backend,
                "machine": machine(),
                "at": datetime.now(UTC).isoformat(),
            }
            with dispatch_stack(workdir, database_url) as stack:
                async with httpx.AsyncClient(base_url=stack.base_url) as client:
                    await register_project(client, PROJECT)
                results["saturation"] = await saturation(
                    stack.base_url, args.clients, args.seconds, 100_000
                )
                print(json.dumps(results["saturation"]), flush=True)
                results["fixed_rate"] = await fixed_rate(stack.base_url, args.rate, args.seconds)
                print(json.dumps(results["fixed_rate"]), flush=True)
                payload = await sample_payload(database_url)
                results["raw_sql_insert"] = await raw_insert(database_url, 50_000)
                print(json.dumps(results["raw_sql_insert"]), flush=True)
                results["raw_nats_publish"] = await raw_publish(
                    stack.nats_url, args.relay_events, payload
                )
                print(json.dumps(results["raw_nats_publish"]), flush=True)
            relay_db = (
                f"sqlite+aiosqlite:///{workdir / 'relay.db'}"
                if backend == "sqlite"
                else database_url
            )
            from wo.processes import NatsServer

            nats = NatsServer(workdir / "nats-relay")
            nats.start()
            try:
                results["relay"] = await relay_drain(relay_db, nats.url, args.relay_events)
            finally:
                nats.stop()
            results["relay"]["share_of_raw_publish"] = round(
                results["relay"]["events_per_s"] / results["raw_nats_publish"]["messages_per_s"], 3
            )
            print(json.dumps(results["relay"]), flush=True)
        finally:
            if database is not None:
                await database.__aexit__(None, None, None)
    out = Path(__file__).parent / "results" / f"ingest-{backend}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    asyncio.run(main())
