"""The relay's stream-check count and the outbox's pruning against a large outbox.

Usage: python -m bench.outbox_upkeep [--rows 1000000] [--days 30]
       [--backend sqlite|postgresql|both] [--postgres URL] [--repeat 5]

Fills dispatch's `outbox` (the migrated schema, a fresh database) with `--rows` rows
published over the last `--days` days (700-byte payloads, as a sealed event's body is),
counts them into `outbox_published` as the migration does, and times, median of
`--repeat`:

- the count the relay's stream check used to run, `SELECT count(*)` of the published
  rows (with the window of a 400-day max age too): it reads the whole table;
- the count it runs now, the sum of the per-day counts (`kept_published`);
- one pruning batch of 1,000 rows published before the keep period (7 days), and a pass
  that finds nothing to prune (the head of the table younger than the period).

Results go to bench/results/outbox-upkeep.json. PostgreSQL: a fresh database
bench_outbox_upkeep at `--postgres`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.ingest import fresh_postgres
from bench.support import calibration, machine, write_results
from services.dispatch.adapters import tables as t
from services.dispatch.adapters.migrate import upgrade
from shared.database import create_engine
from shared.outbox_retention import prune_published
from shared.published_counts import backfill_sql, kept_published

KEEP_DAYS = 7
PRUNE_BATCH = 1000
MAX_AGE_DAYS = 400


def _fill_sql(dialect: str, rows: int, days: int) -> str:
    """One INSERT of `rows` published rows, the oldest `days` days ago, in id order."""
    seconds = days * 86_400
    if dialect == "postgresql":
        return (
            "INSERT INTO outbox (event_id, stream_id, version, subject, payload, status, "
            "attempts, created_at, published_at) "
            "SELECT gen_random_uuid(), 'wo-' || (n / 4), n % 4 + 1, "
            "'events.acme.sunny.workorder.reported', convert_to(repeat('x', 700), 'UTF8'), "
            "'published', 0, at, at "
            f"FROM (SELECT n, now() - make_interval(secs => {seconds} * (1 - n::float / {rows})) "
            f"AS at FROM generate_series(1, {rows}) AS n) AS s"
        )
    return (
        f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) "
        "INSERT INTO outbox (event_id, stream_id, version, subject, payload, status, "
        "attempts, created_at, published_at) "
        "SELECT lower(hex(randomblob(16))), 'wo-' || (n / 4), n % 4 + 1, "
        "'events.acme.sunny.workorder.reported', zeroblob(700), 'published', 0, at, at "
        f"FROM (SELECT n, strftime('%Y-%m-%d %H:%M:%f', 'now', "
        f"'-' || ({seconds} * (1 - n * 1.0 / {rows})) || ' seconds') AS at FROM s)"
    )


async def _median_ms(work: Callable[[], Awaitable[Any]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


async def _scalar(engine: AsyncEngine, query: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


async def measure(engine: AsyncEngine, rows: int, days: int, repeat: int) -> dict[str, Any]:
    """Fill the outbox of the fresh database at `engine` and time its upkeep."""
    await upgrade(engine)
    dialect = engine.dialect.name
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text(_fill_sql(dialect, rows, days)))
        await conn.execute(
            text(backfill_sql(dialect, "outbox_published", "outbox", "status = 'published'"))
        )
    filled_s = time.perf_counter() - started
    if dialect == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE outbox"))
            await conn.commit()
    now = datetime.now(UTC)
    o = t.outbox.c
    published = select(func.count()).select_from(t.outbox).where(o.status == "published")
    windowed = published.where(o.published_at >= now - timedelta(days=MAX_AGE_DAYS))
    counted = await _scalar(engine, published)

    async def kept(max_age: int) -> int:
        async with engine.connect() as conn:
            return await kept_published(conn, t.outbox_published, max_age, now)

    assert await kept(0) == counted == rows, (counted, rows)
    week_ago = now - timedelta(days=KEEP_DAYS)
    result = {
        "rows": rows,
        "days": days,
        "fill_s": round(filled_s, 1),
        "old_count_ms": await _median_ms(lambda: _scalar(engine, published), repeat),
        "old_count_windowed_ms": await _median_ms(lambda: _scalar(engine, windowed), repeat),
        "new_count_ms": await _median_ms(lambda: kept(0), repeat),
        "new_count_windowed_ms": await _median_ms(lambda: kept(MAX_AGE_DAYS), repeat),
        "prune_batch_ms": await _median_ms(
            lambda: prune_published(engine, t.outbox, week_ago, PRUNE_BATCH), repeat
        ),
    }
    # A pass with nothing to prune: the head is younger than the period.
    result["prune_nothing_ms"] = await _median_ms(
        lambda: prune_published(engine, t.outbox, now - timedelta(days=days + 1), PRUNE_BATCH),
        repeat,
    )
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "calibration": calibration(), "runs": {}}
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'dispatch.db'}"
            else:
                url = await fresh_postgres(args.postgres, "bench_outbox_upkeep")
            engine = create_engine(url)
            try:
                measured = await measure(engine, args.rows, args.days, args.repeat)
            finally:
                await engine.dispose()
        results["runs"][backend] = measured
        print(backend, measured, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if not 1 <= args.rows <= 20_000_000 or not 8 <= args.days <= 3650:
        raise SystemExit("--rows must be 1..20,000,000 and --days 8..3650")
    write_results(asyncio.run(run(args)), "outbox-upkeep.json")


if __name__ == "__main__":
    main()
