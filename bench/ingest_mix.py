"""Ingest benchmark: HTTP commands/s and latency, beside the raw SQL insert and NATS publish rates.

Usage: python -m bench.ingest_mix [--postgres ADMIN_URL] [--seconds 20] [--rate 300]

Starts nats-server and a real `python -m services.dispatch` process (relay enabled, as
deployed) on loopback and measures in one run:

1. saturation, with Debian's `wrk` (C, so the load generator takes little of the two
   cores): half the commands report a new work order, half add a progress report to
   one of 2,000 existing ones (a read of the stream, then an append); commands/s and
   latency percentiles at 32 and 64 connections;
2. fixed rate: the same mix at `--rate` commands/s for `--seconds` from an open-loop
   aiohttp client; latency counts from each command's scheduled start, so a stalled
   server is not hidden (no coordinated omission);
3. the raw rate of a batched SQLAlchemy Core insert of event-sized rows into the same
   database, and of concurrent nats-py JetStream publishes to the same server;
4. the outbox relay draining a backlog into JetStream, as a share of the raw rate.

Every loop is bounded in count and time. Results print as JSON lines and go to
bench/results/ingest-<backend>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Uuid, insert, select

from bench.support import (
    Stopwatch,
    dev_token,
    dispatch_stack,
    machine,
    percentile,
    register_project,
)
from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.relay import OutboxRelay
from services.dispatch.service_layer.ports import AppendBatch, NewEvent
from shared.auth import Role
from shared.clock import SystemClock
from shared.database import create_engine
from shared.events.recorded import EventMetadata
from shared.logging import configure_logging
from shared.nats import connect, ensure_streams
from tests.conftest import FreshPostgresDatabase
from tests.integration.dispatch.api_support import report_body
from wo.processes import NatsServer

PROJECT = "bench-a"
REPORT = report_body(project=PROJECT, description="厨房水管漏水,需要尽快上门维修")
PROGRESS = {"note": "已联系供应商,配件明天到"}
EXISTING_ORDERS = 2000


def _headers() -> dict[str, str]:
    return {
        "Authorization": f"Bearer {dev_token(Role.CUSTOMER_SERVICE)}",
        "Content-Type": "application/json",
    }


async def create_orders(base_url: str, count: int) -> list[str]:
    """Report `count` work orders to run progress reports against."""
    ids: list[str] = []
    async with aiohttp.ClientSession(base_url, headers=_headers()) as session:

        async def one() -> None:
            async with session.post("/v1/work-orders", data=orjson.dumps(REPORT)) as response:
                ids.append((await response.json())["id"])

        for start in range(0, count, 50):
            await asyncio.gather(*(one() for _ in range(min(50, count - start))))
    return ids


def wrk_script(ids: list[str]) -> str:
    """A wrk Lua script alternating new reports and progress reports on existing orders."""
    headers = _headers()
    return "\n".join(
        [
            "local ids = {" + ",".join(f'"{i}"' for i in ids) + "}",
            f"local headers = {{['Authorization'] = '{headers['Authorization']}', ['Content-Type'] = 'application/json'}}",
            f"local report = [[{json.dumps(REPORT, ensure_ascii=False)}]]",
            f"local progress = [[{json.dumps(PROGRESS, ensure_ascii=False)}]]",
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            "  if n % 2 == 0 then return wrk.format('POST', '/v1/work-orders', headers, report) end",
            "  local id = ids[math.random(#ids)]",
            "  return wrk.format('POST', '/v1/work-orders/' .. id .. '/report-progress', headers, progress)",
            "end",
        ]
    )


def saturation(base_url: str, script: Path, connections: int, seconds: float) -> dict[str, Any]:
    """wrk, closed loop: commands/s and latency percentiles at `connections` connections."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            str(script),
            base_url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    percentiles = {
        f"p{q}_ms": _ms(v, u)
        for q, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "connections": connections,
        "commands_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        **percentiles,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _ms(value: str, unit: str) -> float:
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


async def fixed_rate(base_url: str, ids: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """Open loop at `rate` commands/s; latency from each command's scheduled start."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    interval = 1.0 / rate
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(base_url, headers=_headers(), connector=connector) as session:

        async def one(n: int, due: float) -> None:
            path, body = (
                ("/v1/work-orders", REPORT)
                if n % 2 == 0
                else (f"/v1/work-orders/{random.choice(ids)}/report-progress", PROGRESS)
            )
            async with session.post(path, data=orjson.dumps(body)) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append(time.perf_counter() - due)

        tasks: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        n = 0
        while (due := started + n * interval) < started + seconds:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, due)))
            n += 1
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        elapsed = time.perf_counter() - started
    return {
        "target_commands_per_s": rate,
        "achieved_commands_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "statuses": statuses,
    }


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
    """Concurrent JetStream publishes (publish_async, every ack awaited) with Nats-Msg-Id."""
    from nats.js.api import StorageType, StreamConfig

    nc = await connect(nats_url, "bench-raw")
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"], storage=StorageType.FILE))
    watch = Stopwatch()
    acks = [
        await js.publish_async(
            f"bench.raw.{i % 64}", payload, headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
        for i in range(messages)
    ]
    await asyncio.wait_for(asyncio.gather(*acks), 120)
    elapsed = watch.elapsed
    await js.delete_stream("BENCH")
    await nc.close()
    return {
        "messages": messages,
        "bytes_each": len(payload),
        "messages_per_s": round(messages / elapsed, 1),
    }


async def relay_drain(
    database_url: str, nats_url: str, events: int, per_order: int
) -> dict[str, Any]:
    """Append `events` events (`per_order` per work order) with the relay stopped, then time it.

    With one event per work order a round is one wave of publishes; with five, five
    waves, each waiting for its acknowledgements (the price of per-order ordering).
    """
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlEventStore(engine)
    meta = EventMetadata(actor="bench", correlation_id="bench")
    now = datetime.now(UTC)

    def batch() -> AppendBatch:
        new = tuple(
            NewEvent(uuid.uuid4(), "workorder.progress_reported", 1, now, {"note": "x" * 200})
            for _ in range(per_order)
        )
        return AppendBatch(str(uuid.uuid4()), 0, "bench", PROJECT, new, meta)

    for start in range(0, events // per_order, 500):
        await asyncio.gather(
            *(store.append(batch()) for _ in range(min(500, events // per_order - start)))
        )
    backlog = await store.outbox_backlog()
    nc = await connect(nats_url, "bench-relay")
    js = nc.jetstream()
    await ensure_streams(js)
    relay = OutboxRelay(
        engine, js, batch_size=1000, poll_interval=1.0, publish_timeout=10.0, clock=SystemClock()
    )
    watch = Stopwatch()
    published = 0
    while watch.elapsed < 300 and published < backlog:
        published += await relay.publish_pending()
    elapsed = watch.elapsed
    await store.close()
    await nc.close()
    await engine.dispose()
    return {
        "backlog": backlog,
        "published": published,
        "events_per_s": round(published / elapsed, 1),
    }


async def sample_payload(database_url: str) -> bytes:
    """A real envelope from the outbox, so raw publishes carry the relay's bytes."""
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        payload = await conn.scalar(select(t.outbox.c.payload).limit(1))
    await engine.dispose()
    if payload is None:
        raise SystemExit("the outbox is empty: report something first")
    return bytes(payload)


async def run(
    args: argparse.Namespace, workdir: Path, database_url: str, backend: str
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "backend": backend,
        "machine": machine(),
        "at": datetime.now(UTC).isoformat(),
    }
    results["http_workers"] = args.workers
    with dispatch_stack(
        workdir, database_url, LOG_LEVEL="WARNING", HTTP_WORKERS=str(args.workers)
    ) as stack:
        async with aiohttp.ClientSession(stack.base_url) as session:
            await register_project(session, PROJECT)
        ids = await create_orders(stack.base_url, EXISTING_ORDERS)
        script = workdir / "mix.lua"
        script.write_text(wrk_script(ids), encoding="utf-8")
        results["saturation"] = [
            saturation(stack.base_url, script, c, args.seconds) for c in (32, 64)
        ]
        for row in results["saturation"]:
            print(json.dumps(row), flush=True)
        results["fixed_rate"] = await fixed_rate(stack.base_url, ids, args.rate, args.seconds)
        print(json.dumps(results["fixed_rate"]), flush=True)
        payload = await sample_payload(database_url)
        results["raw_sql_insert"] = await raw_insert(database_url, 50_000)
        print(json.dumps(results["raw_sql_insert"]), flush=True)
        results["raw_nats_publish"] = await raw_publish(stack.nats_url, args.relay_events, payload)
        print(json.dumps(results["raw_nats_publish"]), flush=True)
    results["relay"] = []
    for per_order in (1, 5):
        nats = NatsServer(workdir / f"nats-relay-{per_order}")
        nats.start()
        try:
            relay_db = (
                f"sqlite+aiosqlite:///{workdir / f'relay-{per_order}.db'}"
                if backend == "sqlite"
                else database_url
            )
            drained = await relay_drain(relay_db, nats.url, args.relay_events, per_order)
            raw = await raw_publish(nats.url, args.relay_events, payload)
        finally:
            nats.stop()
        drained["raw_publish_per_s"] = raw["messages_per_s"]
        drained["share_of_raw_publish"] = round(drained["events_per_s"] / raw["messages_per_s"], 3)
        results["relay"].append(drained)
        print(json.dumps(drained), flush=True)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", help="PostgreSQL admin URL; a fresh database is made next to it"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1, help="dispatch HTTP worker processes")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--relay-events", type=int, default=50_000)
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    if shutil.which("wrk") is None:
        raise SystemExit("bench.ingest_mix needs wrk (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        if args.postgres:
            os.environ["TEST_DATABASE_URL"] = args.postgres
            async with FreshPostgresDatabase() as database_url:
                results = await run(args, Path(tmp), database_url, "postgresql")
        else:
            results = await run(
                args, Path(tmp), f"sqlite+aiosqlite:///{Path(tmp) / 'dispatch.db'}", "sqlite"
            )
    suffix = f"-{args.workers}workers" if args.workers > 1 else ""
    out = Path(__file__).parent / "results" / f"ingest-{results['backend']}{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    asyncio.run(main())
