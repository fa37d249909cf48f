"""The SQLite fast path of `insert_many`, and PostgreSQL's COPY (`copy_many`), store
exactly what SQLAlchemy's public path does.

The fast path hands rows to the driver with the timestamp columns run through their type's
bind processor, a private SQLAlchemy API: if a release changed what that produces, the
range queries (which compare the stored text) would silently miss rows. This pins it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from services.reporting.adapters import tables as t
from services.reporting.adapters.insert_many import copies, copy_many, insert_many
from services.reporting.domain.rollup import RollupKey
from shared.database import create_engine as create_async_engine
from tests.conftest import FreshPostgresDatabase

SHANGHAI = timezone(timedelta(hours=8))
SAMPLE_COLUMNS = ("generation", "tenant", "kpi", "project", "at", "order_id", "position", "hit",
                  "measure", "label", "band", "building", "kind", "category", "technician",
                  "team")  # fmt: skip
SAMPLES: list[tuple[Any, ...]] = [
    (1, "acme", "time_to_arrive", "sunny", datetime(2026, 11, 3, 1, 2, 3, 456789, tzinfo=UTC),
     "wo-1", 0, None, 123.5, None, 2, "b1", "repair", "plumbing", "tech-a", None),
    # A zone other than UTC is stored as the same instant in UTC.
    (1, "acme", "repair_timeliness", "sunny", datetime(2026, 11, 3, 9, 0, tzinfo=SHANGHAI),
     "wo-2", 0, True, None, "kept", None, None, "repair", None, None, "plumbers"),
    (1, "acme", "repair_timeliness", "sunny", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
     "wo-3", 1, False, None, None, None, "楼栋 2", "repair", "电梯", None, None),
]  # fmt: skip
ROLLUP_COLUMNS = ("generation", *RollupKey._fields, "samples")
ROLLUP = [(1, "acme", "sunny", "satisfaction", 24, 493_000, "", 1, 0, 3)]


def _stored(url: str, raw_sqlite: bool) -> tuple[list[Any], list[Any]]:
    engine = create_engine(url)
    t.metadata.create_all(engine, tables=[t.kpi_samples, t.kpi_rollup])
    with engine.begin() as conn:
        insert_many(conn, t.kpi_samples, SAMPLE_COLUMNS, SAMPLES, raw_sqlite=raw_sqlite)
        for _ in range(2):  # the second time adds to the counter instead of failing
            insert_many(conn, t.kpi_rollup, ROLLUP_COLUMNS, ROLLUP, "samples",
                        raw_sqlite=raw_sqlite)  # fmt: skip
    with engine.connect() as conn:
        samples = conn.exec_driver_sql("SELECT * FROM rp_kpi_samples ORDER BY order_id").all()
        typed = conn.execute(select(t.kpi_samples.c.at).order_by(t.kpi_samples.c.order_id))
        rollup = conn.exec_driver_sql("SELECT * FROM rp_kpi_rollup").all()
        instants = list(typed.scalars())
    engine.dispose()
    assert instants == [row[4] for row in SAMPLES]
    return list(samples), list(rollup)


def test_the_fast_path_stores_what_the_public_path_stores(tmp_path: Path) -> None:
    fast = _stored(f"sqlite:///{tmp_path / 'fast.db'}", raw_sqlite=True)
    public = _stored(f"sqlite:///{tmp_path / 'public.db'}", raw_sqlite=False)
    assert fast == public
    samples, rollup = fast
    assert len(samples) == len(SAMPLES)
    assert rollup[0][-1] == 6  # 3 + 3


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="COPY is PostgreSQL's")
async def test_copy_stores_what_the_public_path_stores() -> None:
    stored = []
    async with FreshPostgresDatabase() as url:
        engine = create_async_engine(url)
        assert copies(engine)
        async with engine.begin() as conn:
            await conn.run_sync(t.metadata.create_all, tables=[t.kpi_samples])
        for generation, copied in ((1, False), (2, True)):
            rows = [(generation, *row[1:]) for row in SAMPLES]
            async with engine.begin() as conn:
                if copied:
                    await copy_many(conn, t.kpi_samples, SAMPLE_COLUMNS, rows)
                else:
                    await conn.run_sync(insert_many, t.kpi_samples, SAMPLE_COLUMNS, rows)
            async with engine.connect() as conn:
                query = select(t.kpi_samples).where(t.kpi_samples.c.generation == generation)
                result = await conn.execute(query.order_by(t.kpi_samples.c.order_id))
                stored.append([row[1:] for row in result.all()])
        naive = [(3, *SAMPLES[0][1:4], datetime(2026, 11, 3, 1, 2), *SAMPLES[0][5:])]
        with pytest.raises(ValueError, match="naive datetime"):
            async with engine.begin() as conn:
                await copy_many(conn, t.kpi_samples, SAMPLE_COLUMNS, naive)
        await engine.dispose()

    by_insert, by_copy = stored
    assert by_copy == by_insert
    assert [row[3] for row in by_copy] == [row[4] for row in SAMPLES]
