"""Schema migrations keep the read model's rows: 0003 re-clusters the per-sample rows, 0004
keys dead letters by event, 0005 redraws the samples under the current KPI definitions,
0006 gives orders their number column, 0008 drops the samples' index by order."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from alembic import command
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables
from services.reporting.adapters.migrate import MIGRATIONS
from services.reporting.adapters.store import ReadModelStore
from services.reporting.domain.periods import Period
from services.reporting.service_layer.projector import apply_events
from services.reporting.service_layer.queries import KpiQuery, figure_groups, figures
from shared.clock import SystemClock
from shared.database import Database, create_engine
from shared.migrations import alembic_config
from tests.integration.reporting.scripted_week import NOW, week
from tests.unit.reporting.histories import TENANT
from tests.unit.reporting.support import facts_of


async def _migrate(database: Database, revision: str, down: bool = False) -> None:
    def work(conn: Connection) -> None:
        config = alembic_config(MIGRATIONS)
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)

    await database.run(work, write=True)


async def _samples(database: Database) -> list[dict[str, Any]]:
    def work(conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(select(tables.kpi_samples)).all()
        return sorted(
            (dict(r._mapping) for r in rows), key=lambda r: (r["order_id"], r["kpi"], r["position"])
        )

    return await database.run(work)


async def _indexes(database: Database) -> set[str]:
    def work(conn: Connection) -> set[str]:
        if conn.dialect.name == "sqlite":
            query = (
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='rp_kpi_samples'"
            )
        else:
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'rp_kpi_samples'"
        return {str(name) for name in conn.execute(text(query)).scalars()}

    return await database.run(work)


@asynccontextmanager
async def _week_projected_at(
    database_url: str, revision: str
) -> AsyncIterator[tuple[Database, ReadModelStore, list[dict[str, object]]]]:
    """A read model at `revision` holding the scripted week (and its events).

    The week is projected at the head (the current code writes columns an older revision
    lacks, such as the orders' numbers of 0006) and the schema then taken down to
    `revision`, as a release of that revision would have left it."""
    engine = create_engine(database_url)
    database = Database(engine)
    store = ReadModelStore(database, SystemClock())
    try:
        await _migrate(database, "head")
        events, _ = week()
        await apply_events(store, "live", [facts_of(raw) for raw in events], len(events))
        await _migrate(database, revision, down=True)
        yield database, store, events
    finally:
        database.close()
        await engine.dispose()


async def test_reclustering_the_samples_keeps_every_row_and_figure_both_ways(
    database_url: str,
) -> None:
    async with _week_projected_at(database_url, "0002") as (database, store, events):
        before = await _samples(database)
        assert before, "the scripted week draws samples"
        period = Period(NOW.date().replace(day=1), NOW.date())
        query = KpiQuery(TENANT, None, period, NOW, {"building": "b1"})
        asked = await figures(store, query, ["repair_timeliness", "time_to_arrive"])
        grouped = await figure_groups(store, query, "time_to_arrive", "technician")
        assert all(value.denominator for value in asked.values) and grouped

        await _migrate(database, "head")
        assert await _samples(database) == before
        # 0003 added the index by order, 0008 drops it (samples are deleted by key).
        assert "ix_rp_kpi_samples_order" not in await _indexes(database)
        await _migrate(database, "0007", down=True)
        assert "ix_rp_kpi_samples_order" in await _indexes(database)
        await _migrate(database, "head")
        assert await figures(store, query, ["repair_timeliness", "time_to_arrive"]) == asked
        assert await figure_groups(store, query, "time_to_arrive", "technician") == grouped
        # The projector goes on writing into the new layout.
        await apply_events(store, "live", [facts_of(raw) for raw in events], len(events) + 1)
        assert await _samples(database) == before

        await _migrate(database, "0002", down=True)
        assert await _samples(database) == before
        assert "ix_rp_kpi_samples_period" in await _indexes(database)


async def test_0004_keys_existing_dead_letters_by_event_and_gives_them_their_tenant(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    database = Database(engine)
    events, _ = week()
    event = events[0]
    rows = [
        # One event recorded twice (before a stream loss and after it), and a bad body.
        (1, 4, orjson.dumps(event)),
        (2, 6, orjson.dumps(event)),
        (3, 5, b"not an envelope"),
    ]

    def insert_old(conn: Connection) -> None:
        for row_id, sequence, data in rows:
            conn.execute(
                text(
                    "INSERT INTO rp_dead_letters (id, consumer, subject, stream_sequence, "
                    "error, num_delivered, data, recorded_at, skipped) VALUES (:id, 'reporting', "
                    "'events.x', :seq, 'e', 1, :data, :at, false)"
                ),
                {"id": row_id, "seq": sequence, "data": data, "at": NOW},
            )

    def read(conn: Connection) -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT id, letter_key, tenant, project FROM rp_dead_letters ORDER BY id")
            )
        ]

    try:
        await _migrate(database, "0003")
        await database.run(insert_old, write=True)
        await _migrate(database, "head")
        body_key = f"body:{hashlib.sha256(b'not an envelope').hexdigest()}"
        assert await database.run(read) == [
            (1, f"event:{event['id']}#1", TENANT, event["project"]),
            (2, f"event:{event['id']}", TENANT, event["project"]),
            (3, body_key, None, None),
        ]
        await _migrate(database, "0003", down=True)
    finally:
        database.close()
        await engine.dispose()


async def test_upgrading_redraws_the_samples_under_the_current_definitions(
    database_url: str,
) -> None:
    # Rows drawn by an older definition (here: repair timeliness and satisfaction missing,
    # as if drawn differently) are replaced by what the current code draws from the facts.
    async with _week_projected_at(database_url, "0003") as (database, store, _):
        drawn = await _samples(database)
        query = KpiQuery(TENANT, None, Period(NOW.date().replace(day=1), NOW.date()), NOW)
        names = ["repair_timeliness", "satisfaction", "time_to_arrive"]
        asked = await figures(store, query, names)

        def stale(conn: Connection) -> None:
            for table in (tables.kpi_samples, tables.kpi_rollup):
                kpi = table.c.kpi
                conn.execute(delete(table).where(kpi.in_(["repair_timeliness", "satisfaction"])))

        await database.run(stale, write=True)
        assert await figures(store, query, names) != asked

        await _migrate(database, "head")
        assert await _samples(database) == drawn
        assert await figures(store, query, names) == asked
