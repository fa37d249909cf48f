"""Privacy benchmark: what sealing residents' personal fields costs, keys cached or not.

Usage: python -m bench.privacy [--fields 20000] [--stored 2000] [--postgres ADMIN_URL]

In one process, through `shared.privacy.fields.PersonalFields` as the write and read
paths will call it, it measures, each over a bounded loop:

1. one field sealed and one opened (AES-256-GCM, AEAD bound to tenant, subject, field)
   with the subject's data key cached (what a busy process mostly does);
2. the same with the cache off and the in-memory key ring (each call unwraps the data
   key: a second AES-GCM operation);
3. the same with the cache off and dispatch's SQL key ring (each call a database read);
4. a reported event's two personal fields (name and phone) sealed and opened, cached and
   against the SQL ring not cached;
5. a new resident's first key: generated, wrapped and inserted into the SQL ring.

A subject is one of 1,000 residents, in turn. Results: a table on stdout and
bench/results/privacy-<backend>.json (microseconds of wall and CPU time per operation).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.support import machine, on_fresh_database, write_results
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.resident_keys import SqlKeyRing
from shared.clock import SystemClock
from shared.database import create_engine
from shared.privacy.derivation import privacy_keys
from shared.privacy.fields import PersonalFields
from shared.privacy.keyring import KeyRing
from shared.privacy.memory_keyring import InMemoryKeyRing
from shared.privacy.pseudonym import resident_reference
from shared.privacy.wrapping import LocalKeyWrapper

TENANT = "bench"
RESIDENTS = 1000
NAME, PHONE = "欧阳娜娜", "13800000000"
KEYS = privacy_keys(b"bench-privacy-master-key-0123456789abcdef")


def _subjects() -> list[str]:
    return [
        resident_reference(KEYS.resident_reference, TENANT, f"1380000{n:04d}")
        for n in range(RESIDENTS)
    ]


async def _timed(count: int, operation: Callable[[int], Awaitable[Any]]) -> dict[str, float]:
    """`operation(i)` for i in range(count), one after another; µs per call, wall and CPU."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        await operation(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "count": count,
        "wall_us": round(wall / count * 1e6, 1),
        "cpu_us": round(cpu / count * 1e6, 1),
        "per_second": round(count / wall),
    }


async def _field_costs(fields: PersonalFields, subjects: list[str], count: int) -> dict[str, Any]:
    """Seal then open `count` fields, and seal then open `count` events' two fields."""
    tokens = [await fields.seal(TENANT, s, "phone", PHONE) for s in subjects]
    names = [await fields.seal(TENANT, s, "name", NAME) for s in subjects]

    async def seal_one(i: int) -> None:
        await fields.seal(TENANT, subjects[i % RESIDENTS], "phone", PHONE)

    async def open_one(i: int) -> None:
        await fields.open(TENANT, subjects[i % RESIDENTS], "phone", tokens[i % RESIDENTS])

    async def event(i: int) -> None:
        subject = subjects[i % RESIDENTS]
        await fields.seal(TENANT, subject, "name", NAME)
        await fields.seal(TENANT, subject, "phone", PHONE)
        await fields.open(TENANT, subject, "name", names[i % RESIDENTS])
        await fields.open(TENANT, subject, "phone", tokens[i % RESIDENTS])

    return {
        "seal_field": await _timed(count, seal_one),
        "open_field": await _timed(count, open_one),
        "event_two_fields_sealed_and_opened": await _timed(max(1, count // 2), event),
    }


async def _in_memory(count: int) -> dict[str, Any]:
    ring = InMemoryKeyRing(LocalKeyWrapper(KEYS))
    subjects = _subjects()
    return {
        "memory_cached": await _field_costs(PersonalFields(ring), subjects, count),
        "memory_not_cached": await _field_costs(
            PersonalFields(ring, cache_size=0), subjects, count
        ),
    }


async def _stored(database_url: str, count: int) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        ring: KeyRing = SqlKeyRing(engine, LocalKeyWrapper(KEYS), clock=SystemClock().now)
        subjects = _subjects()

        async def first_key(i: int) -> None:
            await ring.current(TENANT, f"rsd_new_{i}")

        return {
            "backend": engine.dialect.name,
            "sql_first_key_of_a_resident": await _timed(count, first_key),
            "sql_cached": await _field_costs(PersonalFields(ring), subjects, count),
            "sql_not_cached": await _field_costs(
                PersonalFields(ring, cache_size=0), subjects, count
            ),
        }
    finally:
        await engine.dispose()


def _table(results: dict[str, Any]) -> str:
    rows = [f"{'measure':<58} {'wall µs':>9} {'CPU µs':>9} {'per s':>9}"]
    for group, measures in results.items():
        if not isinstance(measures, dict) or group == "machine":
            continue
        for name, figures in measures.items():
            if isinstance(figures, dict) and "wall_us" in figures:
                label = f"{group} / {name}"
                rows.append(
                    f"{label:<58} {figures['wall_us']:>9} {figures['cpu_us']:>9} "
                    f"{figures['per_second']:>9}"
                )
    return "\n".join(rows)


async def run(fields: int, stored: int, postgres: str | None) -> dict[str, Any]:
    """Every measure; `fields` and `stored` bound the in-memory and SQL loops."""
    results: dict[str, Any] = {"machine": machine()}
    results.update(await _in_memory(fields))
    sql = await on_fresh_database(lambda url: _stored(url, stored), postgres, "privacy")
    results["sql"] = {k: v for k, v in sql.items() if k.startswith("sql_first")}
    results["sql_cached"] = sql["sql_cached"]
    results["sql_not_cached"] = sql["sql_not_cached"]
    results["backend"], results["at"] = sql["backend"], sql["at"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=20_000)
    parser.add_argument("--stored", type=int, default=2_000)
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server")
    options = parser.parse_args()
    fields = max(RESIDENTS, min(options.fields, 1_000_000))  # bounded
    stored = max(10, min(options.stored, 100_000))
    results = asyncio.run(run(fields, stored, options.postgres))
    print(_table(results))
    write_results(results, f"privacy-{results['backend']}.json")


if __name__ == "__main__":
    main()
