"""notify benchmark: event published -> signed webhook received, at a fixed rate and flat out.

Usage: python -m bench.notify [--rate 200] [--seconds 30] [--backlog 5000] [--postgres ADMIN_URL]

It starts `nats-server` and `python -m services.notify` as a deployment would (logs at
WARNING, its own SQLite file or a fresh PostgreSQL database), with one staff contact
reached by a Standard Webhooks webhook on a loopback receiver, and `workorder.reported`
routed to the owner only. Then:

1. **fixed rate**: publishes `--rate` reported events per second for `--seconds` (open
   loop: each latency counts from the event's scheduled publish time, so a stall is not
   hidden) and reads, per event, the time from its publish to its webhook's arrival;
2. **flat out**: publishes `--backlog` events as fast as JetStream takes them and
   measures deliveries per second from the first publish to the last webhook received
   (and over the middle 80 %, the sustained rate once the backlog is queued).

Every loop is bounded in count and time; only loopback addresses are used. Results go
to stdout and bench/results/notify-<backend>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.support import machine, percentile, stop_service
from services.notify.adapters.tables import deliveries
from services.notify.domain.config import (
    NotifyConfig,
    RouteTarget,
    TenantConfig,
)
from shared.database import create_engine
from shared.envelope import Envelope
from shared.events.workorder import (
    Channel,
    Location,
    Reporter,
    Urgency,
    WorkOrderKind,
    WorkOrderReported,
)
from shared.nats import connect, ensure_streams
from tests.conftest import FreshPostgresDatabase
from tests.integration.notify.conftest import webhook_contact
from tests.integration.notify.support import HttpReceiver
from wo.processes import NatsServer, free_port, wait_for_port

TENANT = "bench"
PROJECT = "bench-notify"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-bench!").decode()
RESULTS = Path(__file__).parent / "results"
_STRETCH_SECONDS = 5.0
_FIRST_SECONDS = 30


def config(receiver: str) -> NotifyConfig:
    """One owner reached by webhook; reports go to the owner only."""
    return NotifyConfig(
        tenants={
            TENANT: TenantConfig(
                contacts={"owner": webhook_contact("Owner", f"{receiver}/hook", SECRET)},
                routes={
                    "workorder.reported": (
                        RouteTarget(recipient="owner", template="reported_owner"),
                    )
                },
            )
        }
    )


def reported(work_order_id: str) -> bytes:
    """The envelope of a report, as dispatch's relay publishes it."""
    data = WorkOrderReported(
        kind=WorkOrderKind.REPAIR,
        category="plumbing",
        urgency=Urgency.NORMAL,
        location=Location(building="b1", unit="1-101"),
        reporter=Reporter(name="张三", phone="13800000000"),
        channel=Channel.PHONE,
        description="厨房水管漏水",
        owner="owner",
    )
    return Envelope(
        id=uuid.uuid4(),
        source="/dispatch",
        type=data.cloudevents_type(),
        subject=work_order_id,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
        tenant=TENANT,
        project=PROJECT,
        sequence=1,
        correlationid=work_order_id,
        actor="bench",
    ).to_json()


def arrivals(receiver: HttpReceiver, prefix: str) -> dict[str, float]:
    """Work-order id -> when its webhook arrived, for one phase."""
    seen: dict[str, float] = {}
    for request in receiver.requests:
        work_order_id = request.json()["work_order_id"]
        if work_order_id.startswith(prefix):
            seen.setdefault(work_order_id, request.at)
    return seen


async def wait_for(receiver: HttpReceiver, prefix: str, count: int, within: float) -> None:
    """Wait (bounded) until `count` webhooks of a phase arrived."""
    for _ in range(int(within / 0.2)):
        if len(arrivals(receiver, prefix)) >= count:
            return
        await asyncio.sleep(0.2)


async def fixed_rate(
    js: Any, receiver: HttpReceiver, rate: int, seconds: int
) -> tuple[dict[str, float], float]:
    """Publish at `rate`/s for `seconds`; return each event's scheduled time and the start.

    Open loop: each latency counts from the event's scheduled publish time, so a stall of
    the publisher is not hidden.
    """
    total = rate * seconds
    scheduled: dict[str, float] = {}
    start = time.time() + 0.5
    for n in range(total):
        at = start + n / rate
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        work_order_id = f"rate-{n}"
        scheduled[work_order_id] = at
        await js.publish(
            f"events.{TENANT}.{PROJECT}.workorder.reported",
            reported(work_order_id),
            headers={"Nats-Msg-Id": work_order_id},
        )
    await wait_for(receiver, "rate-", total, within=120)
    return scheduled, start


async def planned_at(database_url: str) -> dict[str, float]:
    """When notify's consumer planned each fixed-rate event's delivery (its row's creation)."""
    engine = create_engine(database_url, pool_size=1)
    d = deliveries.c
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(d.work_order_id, d.created_at).where(d.work_order_id.like("rate-%"))
            )
            return {row.work_order_id: row.created_at.timestamp() for row in rows}
    finally:
        await engine.dispose()


def rate_report(
    scheduled: dict[str, float],
    start: float,
    seen: dict[str, float],
    planned: dict[str, float],
    rate: int,
    seconds: int,
) -> dict[str, Any]:
    """Latency percentiles of the fixed-rate phase, per 5-s stretch and, for the first
    30 s, per second, split at the moment notify's consumer planned the delivery."""
    latencies = [(seen[w] - scheduled[w]) * 1000 for w in scheduled if w in seen]
    # The p99 of each 5-s stretch: a tail from one stall shows as one high stretch, a
    # consumer falling behind as a rising series.
    stretches: dict[int, list[float]] = {}
    # The first seconds one by one, as publish -> planned (the consumer's part) and
    # planned -> webhook received (the sender's): a cold start shows as high seconds at
    # the start that fall back later, and the split says which part was slow.
    to_webhook: dict[int, list[float]] = {}
    to_planned: dict[int, list[float]] = {}
    planned_to_webhook: dict[int, list[float]] = {}
    for w, at in scheduled.items():
        if w not in seen:
            continue
        stretches.setdefault(int((at - start) // _STRETCH_SECONDS), []).append(
            (seen[w] - at) * 1000
        )
        second = int(at - start)
        if second >= _FIRST_SECONDS:
            continue
        to_webhook.setdefault(second, []).append((seen[w] - at) * 1000)
        if w in planned:
            to_planned.setdefault(second, []).append((planned[w] - at) * 1000)
            planned_to_webhook.setdefault(second, []).append((seen[w] - planned[w]) * 1000)

    def per_second(values: dict[int, list[float]], q: float) -> list[int]:
        return [round(percentile(v, q)) for _, v in sorted(values.items())]

    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "published": len(scheduled),
        "received": len(latencies),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 1),
            "p90": round(percentile(latencies, 0.9), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=0.0), 1),
        },
        "p99_ms_per_5s": [round(percentile(v, 0.99)) for _, v in sorted(stretches.items())],
        "first_30s_per_s": {
            "p50_ms": per_second(to_webhook, 0.5),
            "p99_ms": per_second(to_webhook, 0.99),
            "p99_ms_publish_to_planned": per_second(to_planned, 0.99),
            "p99_ms_planned_to_webhook": per_second(planned_to_webhook, 0.99),
        },
    }


async def flat_out(js: Any, receiver: HttpReceiver, backlog: int) -> dict[str, Any]:
    """Publish `backlog` events at once; deliveries per second until the last arrives."""
    first = time.time()
    for chunk in range(0, backlog, 500):
        await asyncio.gather(
            *(
                js.publish(
                    f"events.{TENANT}.{PROJECT}.workorder.reported",
                    reported(f"flat-{n}"),
                    headers={"Nats-Msg-Id": f"flat-{n}"},
                )
                for n in range(chunk, min(chunk + 500, backlog))
            )
        )
    published = time.time()
    await wait_for(receiver, "flat-", backlog, within=300)
    times = sorted(arrivals(receiver, "flat-").values())
    if not times:
        return {"backlog": backlog, "received": 0}
    low, high = times[len(times) // 10], times[(len(times) * 9) // 10]
    middle = (len(times) * 9) // 10 - len(times) // 10
    return {
        "backlog": backlog,
        "received": len(times),
        "publish_seconds": round(published - first, 2),
        "total_seconds": round(times[-1] - first, 2),
        "deliveries_per_s": round(len(times) / (times[-1] - first), 1),
        "sustained_middle_80pct_per_s": round(middle / (high - low), 1) if high > low else None,
    }


def start_notify(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    """`python -m services.notify` as a deployment runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.notify"], env=env, stdout=log, stderr=log
    )


async def run(args: argparse.Namespace, workdir: Path, database_url: str) -> dict[str, Any]:
    receiver = HttpReceiver()
    await receiver.start()
    nats = NatsServer(workdir / "nats")
    nats.start(log_file=workdir / "nats.log")
    config_file = workdir / "notify.json"
    config_file.write_text(config(receiver.url).model_dump_json(), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats.url,
        "HTTP_PORT": str(port),
        "NOTIFY_CONFIG_FILE": str(config_file),
        "LOG_LEVEL": "WARNING",
        # The benchmark's clients sign with the development secret.
        "ENVIRONMENT": "development",
    }
    log = (workdir / "notify.log").open("ab")
    process = start_notify(env, log)
    try:
        if not wait_for_port("127.0.0.1", port, 60):
            raise RuntimeError(f"notify did not start; see {workdir / 'notify.log'}")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):
                body = (await client.get("/readyz")).json()
                if body.get("nats") == "connected":
                    break
                await asyncio.sleep(0.1)
        nc = await connect(nats.url, name="bench-notify")
        js = nc.jetstream()
        await ensure_streams(js)
        try:
            scheduled, start = await fixed_rate(js, receiver, args.rate, args.seconds)
            seen = arrivals(receiver, "rate-")
            flat = await flat_out(js, receiver, args.backlog)
        finally:
            await nc.close()
    finally:
        stop_service(process, log, nats)
        await receiver.stop()
    planned = await planned_at(database_url)
    rate = rate_report(scheduled, start, seen, planned, args.rate, args.seconds)
    return {"fixed_rate": rate, "flat_out": flat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--postgres", help="admin URL; a fresh database is made next to it")
    args = parser.parse_args()
    backend = "postgresql" if args.postgres else "sqlite"
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        workdir = Path(tmp)

        async def go() -> dict[str, Any]:
            if args.postgres:
                os.environ["TEST_DATABASE_URL"] = args.postgres
                async with FreshPostgresDatabase() as url:
                    return await run(args, workdir, url)
            return await run(args, workdir, f"sqlite+aiosqlite:///{workdir / 'notify.db'}")

        results = asyncio.run(go())
    report = {
        "backend": backend,
        "machine": machine(),
        "taken_at": datetime.now(UTC).isoformat(),
        "load_average_1_5_15": {
            "start": [round(x, 2) for x in load_at_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        **results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"notify-{backend}.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
