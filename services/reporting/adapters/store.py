"""reporting's read model over one database: each unit of work in one transaction.

The jobs live in their own modules: applying a batch (`batch`, `order_rows`, `samples`
over `insert_many`), checkpoints, dead letters, generations, and the read queries
(`read_view`). This class runs them on the database: a batch and its checkpoint together
(the `ReadModelRecorder` the projector applies batches through), a rebuild's generation
steps, and the reads of the API.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.adapters.batch import SqlReadModelBatch
from services.reporting.adapters.checkpoints import Checkpoint, advance, read_checkpoint
from services.reporting.adapters.dead_letters import (
    EVERY_TENANT,
    TenantScope,
    dead_letter_count,
    dead_letter_keys,
    latest_dead_letters,
    record_dead_letter,
)
from services.reporting.adapters.generations import (
    current_generation,
    drop_generation,
    next_generation,
    switch_generation,
)
from services.reporting.adapters.insert_many import insert_new
from services.reporting.adapters.leases import LeaseFence
from services.reporting.adapters.order_rows import (
    ORDER_COLUMNS,
    POSITION_COLUMNS,
    new_stream_rows,
    project_rows,
    stored_facts,
    write_notifications,
    write_pending,
    write_projects,
)
from services.reporting.adapters.read_view import ReadView
from services.reporting.adapters.samples import SAMPLE_COLUMNS, SampleRows, store_sample_rows
from services.reporting.domain.facts import OrderFacts, ProjectFacts
from services.reporting.domain.periods import DEFAULT_TIME_ZONE
from services.reporting.service_layer.ports import DeadLetterRecord, ReadModelBatch
from services.reporting.service_layer.projection import WorkingSet
from shared.clock import Clock
from shared.database import Database
from shared.tracking import Tracking

T = TypeVar("T")
R = TypeVar("R")


class ReadModelStore:
    """reporting's read model over one database."""

    def __init__(self, database: Database, clock: Clock, fence: LeaseFence | None = None) -> None:
        """`fence`: the projector's lease, checked first by every batch `record` applies
        (the live projector of a process that stands by when another holds it)."""
        self.database = database
        self._clock = clock
        self._fence = fence

    async def record(
        self,
        tracking: Tracking,
        work: Callable[[ReadModelBatch], R],
        dead: Sequence[DeadLetterRecord] = (),
        generation: int | None = None,
    ) -> R:
        """Run `work` on a batch's rows, advance the consumer and keep `dead`, atomically."""

        def unit(conn: Connection) -> R:
            if self._fence is not None:
                self._fence.check(conn, self._clock.now())
            gen = generation if generation is not None else current_generation(conn)
            batch = SqlReadModelBatch(conn, gen)
            result = work(batch)
            now = self._clock.now()
            advance(conn, gen, tracking.consumer, tracking.position, batch.applied, now)
            for record in dead:
                record_dead_letter(conn, tracking.consumer, record, now)
            return result

        return await self.database.run(unit, write=True)

    async def position(self, consumer: str) -> int | None:
        """The stream sequence `consumer` has recorded in the current generation."""
        found = await self.checkpoint(consumer)
        return found.stream_sequence if found is not None else None

    async def recorded_dead_letters(self, consumer: str, keys: Collection[str]) -> set[str]:
        """Which of `keys` are kept as dead letters of `consumer`."""
        return await self.database.run(dead_letter_keys, consumer, sorted(keys))

    async def fill_generation(
        self,
        generation: int,
        working: WorkingSet,
        dead: Sequence[DeadLetterRecord],
        consumer: str,
    ) -> None:
        """Insert the rows of `working`, folded from nothing (a rebuild's replay), into
        `generation`, and keep `dead` as `consumer`'s dead letters, in one transaction.
        Its orders' samples and roll-up are the caller's to draw (`SampleTally`) and to
        write (`insert_samples`, `add_rollup`).

        Every order and position is new in the generation, so they go in bulk without
        conflict handling: on PostgreSQL by COPY, elsewhere by `insert_many`."""
        orders, positions = new_stream_rows(generation, working)

        def rest(conn: Connection) -> None:
            write_projects(conn, generation, working, set())
            write_pending(conn, generation, working)
            write_notifications(conn, generation, working)
            now = self._clock.now()
            for record in dead:
                record_dead_letter(conn, consumer, record, now)

        writes = [(t.orders, ORDER_COLUMNS, orders), (t.positions, POSITION_COLUMNS, positions)]
        await insert_new(self.database, writes, rest)

    async def add_rollup(self, generation: int, drawn: SampleRows) -> None:
        """Add the roll-up and measures of `drawn` (a rebuild's `SampleTally`, summed over
        its orders) to `generation`, in one transaction; its sample rows are left out."""
        totals = SampleRows(rollup=drawn.rollup, measures=drawn.measures)
        await self.database.run(store_sample_rows, generation, totals, write=True)

    async def insert_samples(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert per-sample rows a rebuild drew (`SampleTally`), in one transaction (in
        the order of their table's key they are appended, not scattered over its pages)."""
        await insert_new(self.database, [(t.kpi_samples, SAMPLE_COLUMNS, rows)])

    async def prepare_generation(self) -> int:
        """An empty generation after every one in use, for a rebuild to fill."""
        return await self.database.run(next_generation, write=True)

    async def switch_generation(self, target: int, consumer: str, stream_sequence: int) -> int:
        """Make `target` the generation readers see, in one transaction; return the old one.

        `consumer` (the live projector) starts in the new generation at `stream_sequence`,
        where the rebuild stopped, so its position there is never behind the rows.
        """
        return await self.database.run(
            switch_generation, target, consumer, stream_sequence, self._clock.now(), write=True
        )

    async def raise_checkpoint(
        self, generation: int, consumer: str, stream_sequence: int, applied: int = 0
    ) -> None:
        """Move `consumer`'s checkpoint in `generation` up to `stream_sequence` (never down),
        counting `applied` more events."""
        await self.database.run(
            advance, generation, consumer, stream_sequence, applied, self._clock.now(), write=True
        )

    async def drop_generation(self, generation: int) -> None:
        """Delete a generation's rows (an old one after a switch)."""

        def work(conn: Connection) -> None:
            if generation == current_generation(conn):
                raise ValueError(f"generation {generation} is the current one")
            drop_generation(conn, generation)

        await self.database.run(work, write=True)

    async def current_generation(self) -> int:
        """The generation readers see."""
        return await self.database.run(current_generation)

    async def checkpoint(self, consumer: str, generation: int | None = None) -> Checkpoint | None:
        """`consumer`'s checkpoint in a generation (the current one by default)."""

        def work(conn: Connection) -> Checkpoint | None:
            gen = generation if generation is not None else current_generation(conn)
            return read_checkpoint(conn, consumer, gen)

        return await self.database.run(work)

    async def dead_letters(
        self, limit: int = 100, scope: TenantScope = EVERY_TENANT
    ) -> list[dict[str, Any]]:
        """The latest dead letters in `scope`, newest first (the raw body left out)."""
        return await self.database.run(latest_dead_letters, limit, scope)

    async def dead_letter_count(self, scope: TenantScope = EVERY_TENANT) -> int:
        """How many events of `scope` were given up on."""
        return await self.database.run(dead_letter_count, scope)

    async def tenant_progress(self, scope: TenantScope) -> tuple[int, datetime | None]:
        """How many work orders of `scope` the current generation holds, and the time of
        the latest event applied to one of them."""

        def work(conn: Connection) -> tuple[int, datetime | None]:
            o = t.orders
            conditions = [o.c.generation == current_generation(conn)]
            if scope.tenant is not None:
                conditions.append(o.c.tenant == scope.tenant)
            if scope.projects is not None:
                conditions.append(o.c.project.in_(sorted(scope.projects)))
            row = conn.execute(
                select(func.count(), func.max(o.c.updated_at)).where(*conditions)
            ).one()
            return int(row[0]), row[1]

        return await self.database.run(work)

    async def facts(
        self, tenant: str, projects: frozenset[str] | None = None
    ) -> tuple[list[OrderFacts], dict[tuple[str, str], ProjectFacts]]:
        """Every order's facts in the current generation, and the projects' facts: the
        whole read model of a tenant (or of `projects`), as a rebuild or a replay is
        checked against the oracle's fold. Figures read the roll-up and the samples."""

        def work(conn: Connection) -> tuple[list[OrderFacts], dict[tuple[str, str], ProjectFacts]]:
            gen = current_generation(conn)
            where = [t.orders.c.generation == gen, t.orders.c.tenant == tenant]
            project_where = [t.projects.c.generation == gen, t.projects.c.tenant == tenant]
            if projects is not None:
                where.append(t.orders.c.project.in_(sorted(projects)))
                project_where.append(t.projects.c.project.in_(sorted(projects)))
            rows = conn.execute(select(t.orders.c.facts).where(*where)).scalars().all()
            found = [stored_facts(r) for r in rows]
            return found, project_rows(conn, project_where)

        return await self.database.run(work)

    async def time_zone(self, tenant: str, project: str) -> str:
        """A project's time zone (the default one until its registration arrives)."""

        def work(conn: Connection) -> str:
            zone = conn.execute(
                select(t.projects.c.time_zone).where(
                    t.projects.c.generation == current_generation(conn),
                    t.projects.c.tenant == tenant,
                    t.projects.c.project == project,
                )
            ).scalar_one_or_none()
            return str(zone) if zone is not None else DEFAULT_TIME_ZONE

        return await self.database.run(work)

    async def read(self, work: Callable[[ReadView], T]) -> T:
        """Run `work` on one consistent snapshot of the current generation.

        A figure takes several statements (roll-up, then the measures of a band), and a
        commit of the projector between them must not be half seen: one transaction,
        REPEATABLE READ on PostgreSQL (SQLite's read transaction is a snapshot already).
        """

        def run(conn: Connection) -> T:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return work(ReadView(conn, current_generation(conn)))

        return await self.database.run(run)

    async def order(self, order_id: str) -> OrderFacts | None:
        """One order's facts, for drill-down."""

        def work(conn: Connection) -> OrderFacts | None:
            gen = current_generation(conn)
            raw = conn.execute(
                select(t.orders.c.facts).where(
                    t.orders.c.generation == gen, t.orders.c.order_id == order_id
                )
            ).scalar_one_or_none()
            return stored_facts(raw) if raw is not None else None

        return await self.database.run(work)
