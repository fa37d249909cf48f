"""The read model in SQL: one transaction per batch for the rows, the pending buffer and the checkpoint.

`apply` loads the rows of the streams a batch touches, lets the pure projection fold the
batch into them, and writes back what changed together with the consumer's checkpoint
(and any dead letters), so a crash leaves either all of a batch or none of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.domain.facts import EventFact, OrderFacts, OrderStatus, ProjectFacts
from services.reporting.domain.kpis import Sample
from services.reporting.domain.periods import DEFAULT_TIME_ZONE
from services.reporting.domain.rollup import (
    DAY_SPAN,
    HIT_FALSE,
    HIT_NONE,
    HIT_TRUE,
    HOUR_SPAN,
    NO_BAND,
    NO_LABEL,
    MeasureKey,
    RollupKey,
    RollupRow,
    SampleCount,
    ScopePart,
    Window,
    band_or_none,
    changed_kpis,
    order_samples,
    rollup_delta,
)
from services.reporting.service_layer.projection import (
    Waiting,
    WorkingSet,
    event_fact_from_json,
    event_fact_json,
    project,
    stream_id,
)
from shared.clock import Clock
from shared.database import Database
from shared.sqltypes import UTCDateTime

T = TypeVar("T")

_CHUNK = 500
"""Most keys in one IN list (SQLite allows 32766 parameters; PostgreSQL more)."""


@dataclass(frozen=True)
class DeadLetterRecord:
    """A dead letter as stored."""

    key: str
    tenant: str | None
    project: str | None
    subject: str
    stream_sequence: int
    event_id: str | None
    stream_id: str | None
    sequence: int | None
    error: str
    num_delivered: int
    data: bytes
    skipped: bool


@dataclass(frozen=True)
class TenantScope:
    """Whose dead letters a reader sees: one tenant (None: every tenant and the letters
    of no tenant, for the platform operator's CLI), some projects (None: all of them)."""

    tenant: str | None
    projects: frozenset[str] | None = None


EVERY_TENANT = TenantScope(tenant=None)


@dataclass(frozen=True)
class Checkpoint:
    """How far a consumer has applied the stream into a generation."""

    generation: int
    consumer: str
    stream_sequence: int
    events_applied: int
    updated_at: datetime


class ReadModelStore:
    """reporting's read model over one database."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self._clock = clock

    async def apply(
        self,
        consumer: str,
        items: Sequence[EventFact | Waiting],
        stream_sequence: int,
        dead: Sequence[DeadLetterRecord] = (),
        generation: int | None = None,
        sampled: bool = True,
    ) -> WorkingSet:
        """Fold `items` into the read model and advance `consumer`'s checkpoint, atomically.

        `generation` None means the current one (the live projector); a rebuild names the
        generation it is filling. `sampled` False leaves the KPI samples and roll-up alone:
        a rebuild's replay draws them once per order at the end (`sample_generation`)
        instead of again for every batch that changes the order.
        """
        return await self.database.run(
            self._apply, consumer, items, stream_sequence, dead, generation, sampled, write=True
        )

    def _apply(
        self,
        conn: Connection,
        consumer: str,
        items: Sequence[EventFact | Waiting],
        stream_sequence: int,
        dead: Sequence[DeadLetterRecord],
        generation: int | None,
        sampled: bool,
    ) -> WorkingSet:
        gen = generation if generation is not None else _current(conn)
        streams = {i.stream_id if isinstance(i, Waiting) else stream_id(i) for i in items}
        working = _load(conn, gen, streams)
        existing_orders = set(working.orders)
        existing_projects = set(working.projects)
        existing_positions = set(working.positions)
        # The facts as committed, before the batch: their samples leave the roll-up.
        before = dict(working.orders)
        project(working, items)
        _write(conn, gen, working, existing_orders, existing_projects, existing_positions)
        if sampled:
            write_samples(
                conn,
                gen,
                [(before.get(k), working.orders[k]) for k in sorted(working.changed_orders)],
            )
        if working.notifications:
            conn.execute(
                insert(t.notification_events),
                [{"generation": gen, **n.__dict__} for n in working.notifications],
            )
        _advance(conn, gen, consumer, stream_sequence, working.applied, self._clock.now())
        for record in dead:
            _record_dead(conn, consumer, record, self._clock.now())
        return working

    async def sample_generation(self, generation: int, chunk: int = 2000) -> int:
        """Draw the KPI samples and roll-up of every order of `generation`, which has none yet
        (a rebuild's replay ran with `sampled=False`); one transaction per `chunk` orders.
        Returns the orders sampled."""

        done, after = 0, ""
        while True:
            orders = await self.database.run(sample_orders, generation, after, chunk, write=True)
            if not orders:
                return done
            done += len(orders)
            after = orders[-1].order_id

    async def prepare_generation(self) -> int:
        """An empty generation after every one in use, for a rebuild to fill."""

        def work(conn: Connection) -> int:
            highest = max(
                _current(conn),
                *(
                    int(conn.execute(select(func.max(table.c.generation))).scalar() or 0)
                    for table in GENERATION_TABLES
                ),
            )
            target = highest + 1
            _drop_generation(conn, target)
            return target

        return await self.database.run(work, write=True)

    async def switch_generation(self, target: int, consumer: str, stream_sequence: int) -> int:
        """Make `target` the generation readers see, in one transaction; return the old one.

        `consumer` (the live projector) starts in the new generation at `stream_sequence`,
        where the rebuild stopped, so its position there is never behind the rows.
        """

        def work(conn: Connection) -> int:
            old = _current(conn)
            conn.execute(
                update(t.generation)
                .where(t.generation.c.id == 1)
                .values(current=target, switched_at=self._clock.now())
            )
            _advance(conn, target, consumer, stream_sequence, 0, self._clock.now())
            return old

        return await self.database.run(work, write=True)

    async def raise_checkpoint(self, generation: int, consumer: str, stream_sequence: int) -> None:
        """Move `consumer`'s checkpoint in `generation` up to `stream_sequence` (never down)."""
        await self.database.run(
            lambda conn: _advance(
                conn, generation, consumer, stream_sequence, 0, self._clock.now()
            ),
            write=True,
        )

    async def drop_generation(self, generation: int) -> None:
        """Delete a generation's rows (an old one after a switch)."""

        def work(conn: Connection) -> None:
            if generation == _current(conn):
                raise ValueError(f"generation {generation} is the current one")
            _drop_generation(conn, generation)

        await self.database.run(work, write=True)

    async def current_generation(self) -> int:
        """The generation readers see."""
        return await self.database.run(_current)

    async def checkpoint(self, consumer: str, generation: int | None = None) -> Checkpoint | None:
        """`consumer`'s checkpoint in a generation (the current one by default)."""

        def work(conn: Connection) -> Checkpoint | None:
            gen = generation if generation is not None else _current(conn)
            row = conn.execute(
                select(t.checkpoints).where(
                    t.checkpoints.c.generation == gen, t.checkpoints.c.consumer == consumer
                )
            ).first()
            return Checkpoint(**row._mapping) if row is not None else None

        return await self.database.run(work)

    async def dead_letters(
        self, limit: int = 100, scope: TenantScope = EVERY_TENANT
    ) -> list[dict[str, Any]]:
        """The latest dead letters in `scope`, newest first (the raw body left out)."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            dl = t.dead_letters
            columns = [c for c in dl.c if c.name not in ("data", "letter_key")]
            rows = conn.execute(
                select(*columns).where(*_in_scope(scope)).order_by(dl.c.id.desc()).limit(limit)
            ).all()
            # Row keys are str subclasses; the JSON encoder (orjson) wants plain str keys.
            return [{str(k): v for k, v in r._mapping.items()} for r in rows]

        return await self.database.run(work)

    async def dead_letter_count(self, scope: TenantScope = EVERY_TENANT) -> int:
        """How many events of `scope` were given up on."""
        query = select(func.count()).select_from(t.dead_letters).where(*_in_scope(scope))
        return await self.database.run(lambda conn: int(conn.execute(query).scalar_one()))

    async def tenant_progress(self, scope: TenantScope) -> tuple[int, datetime | None]:
        """How many work orders of `scope` the current generation holds, and the time of
        the latest event applied to one of them."""

        def work(conn: Connection) -> tuple[int, datetime | None]:
            o = t.orders
            conditions = [o.c.generation == _current(conn)]
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
        self,
        tenant: str,
        projects: frozenset[str] | None,
        low: datetime | None,
        high: datetime | None,
    ) -> tuple[list[OrderFacts], dict[tuple[str, str], ProjectFacts]]:
        """The facts a figure over `[low, high)` can draw on, and the projects' facts.

        Every sample of an order lies between its report and its last event, so orders
        outside that window are left in the database; open orders always come (backlog).
        """

        def work(conn: Connection) -> tuple[list[OrderFacts], dict[tuple[str, str], ProjectFacts]]:
            gen = _current(conn)
            where = [t.orders.c.generation == gen, t.orders.c.tenant == tenant]
            project_where = [t.projects.c.generation == gen, t.projects.c.tenant == tenant]
            if projects is not None:
                where.append(t.orders.c.project.in_(sorted(projects)))
                project_where.append(t.projects.c.project.in_(sorted(projects)))
            if low is not None and high is not None:
                where.append(
                    or_(
                        and_(t.orders.c.updated_at >= low, t.orders.c.reported_at < high),
                        t.orders.c.status.in_(sorted(OrderStatus.OPEN)),
                    )
                )
            rows = conn.execute(select(t.orders.c.facts).where(*where)).scalars().all()
            found = [_stored_facts(r) for r in rows]
            return found, _projects(conn, project_where)

        return await self.database.run(work)

    async def time_zone(self, tenant: str, project: str) -> str:
        """A project's time zone (the default one until its registration arrives)."""

        def work(conn: Connection) -> str:
            zone = conn.execute(
                select(t.projects.c.time_zone).where(
                    t.projects.c.generation == _current(conn),
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
            return work(ReadView(conn, _current(conn)))

        return await self.database.run(run)

    async def order(self, order_id: str) -> OrderFacts | None:
        """One order's facts, for drill-down."""

        def work(conn: Connection) -> OrderFacts | None:
            gen = _current(conn)
            raw = conn.execute(
                select(t.orders.c.facts).where(
                    t.orders.c.generation == gen, t.orders.c.order_id == order_id
                )
            ).scalar_one_or_none()
            return _stored_facts(raw) if raw is not None else None

        return await self.database.run(work)


GENERATION_TABLES = (
    t.orders,
    t.projects,
    t.positions,
    t.pending,
    t.checkpoints,
    t.kpi_samples,
    t.kpi_rollup,
    t.kpi_measures,
    t.notification_events,
)


def _drop_generation(conn: Connection, generation: int) -> None:
    for table in GENERATION_TABLES:
        conn.execute(delete(table).where(table.c.generation == generation))


def _current(conn: Connection) -> int:
    return int(
        conn.execute(select(t.generation.c.current).where(t.generation.c.id == 1)).scalar_one()
    )


def _sampled_projects(conn: Connection, gen: int, tenant: str) -> set[str]:
    """Every project with roll-up rows: one index seek per project (no scan of the rows)."""
    r = t.kpi_rollup.c
    found: set[str] = set()
    last = ""
    while True:
        following = conn.execute(
            select(func.min(r.project)).where(
                r.generation == gen, r.tenant == tenant, r.span == DAY_SPAN, r.project > last
            )
        ).scalar_one_or_none()
        if following is None:
            return found
        found.add(str(following))
        last = str(following)


def _hours(part: ScopePart) -> list[Window]:
    """The hour rows of a part's whole period (a series needs every hour's slot)."""
    windows = part.windows or []
    return [Window(HOUR_SPAN, windows[0].first, windows[-1].end)] if windows else []


def _chunks(keys: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(keys)
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i : i + _CHUNK]


def _projects(conn: Connection, where: list[Any]) -> dict[tuple[str, str], ProjectFacts]:
    rows = conn.execute(select(t.projects).where(*where)).all()
    return {
        (r.tenant, r.project): ProjectFacts(
            tenant=r.tenant,
            project=r.project,
            name=r.name,
            time_zone=r.time_zone,
            households=r.households,
            version=r.version,
        )
        for r in rows
    }


def _load(conn: Connection, gen: int, streams: set[str]) -> WorkingSet:
    working = WorkingSet()
    project_keys: set[tuple[str, str]] = set()
    for chunk in _chunks(streams):
        for sid, version in conn.execute(
            select(t.positions.c.stream_id, t.positions.c.version).where(
                t.positions.c.generation == gen, t.positions.c.stream_id.in_(chunk)
            )
        ):
            working.positions[sid] = version
        for raw in conn.execute(
            select(t.orders.c.facts).where(
                t.orders.c.generation == gen, t.orders.c.order_id.in_(chunk)
            )
        ).scalars():
            facts = _stored_facts(raw)
            working.orders[facts.order_id] = facts
        for sid, sequence, event in conn.execute(
            select(t.pending.c.stream_id, t.pending.c.sequence, t.pending.c.event).where(
                t.pending.c.generation == gen, t.pending.c.stream_id.in_(chunk)
            )
        ):
            fact = event_fact_from_json(orjson.loads(event)) if event is not None else None
            working.pending[(sid, sequence)] = Waiting(sid, sequence, fact)
        project_keys.update(
            (parts[1], parts[2])
            for parts in (s.split(":") for s in chunk if s.startswith("project:"))
            if len(parts) == 3
        )
    if project_keys:
        tenants = sorted({k[0] for k in project_keys})
        names = sorted({k[1] for k in project_keys})
        loaded = _projects(
            conn,
            [
                t.projects.c.generation == gen,
                t.projects.c.tenant.in_(tenants),
                t.projects.c.project.in_(names),
            ],
        )
        working.projects.update({k: v for k, v in loaded.items() if k in project_keys})
    return working


_MUTABLE = ("status", "updated_at", "facts")


def _stored_facts(raw: str | bytes) -> OrderFacts:
    """An order's facts as `_order_row` stored them."""
    return OrderFacts.from_json(orjson.loads(raw))


def _order_row(gen: int, facts: OrderFacts) -> dict[str, Any]:
    return {
        "generation": gen,
        "order_id": facts.order_id,
        "tenant": facts.tenant,
        "project": facts.project,
        "kind": facts.kind,
        "status": facts.status,
        "reported_at": facts.reported_at,
        "updated_at": facts.updated_at or facts.reported_at,
        "facts": orjson.dumps(facts.to_json()).decode(),
        "number": facts.number,
    }


def _write(
    conn: Connection,
    gen: int,
    working: WorkingSet,
    existing_orders: set[str],
    existing_projects: set[tuple[str, str]],
    existing_positions: set[str],
) -> None:
    new_orders = [
        _order_row(gen, working.orders[k]) for k in working.changed_orders - existing_orders
    ]
    changed = [
        {**_order_row(gen, working.orders[k]), "k_id": k}
        for k in working.changed_orders & existing_orders
    ]
    if new_orders:
        conn.execute(insert(t.orders), new_orders)
    if changed:
        conn.execute(
            update(t.orders)
            .where(t.orders.c.generation == gen, t.orders.c.order_id == bindparam("k_id"))
            .values({c: bindparam(f"v_{c}") for c in _MUTABLE}),
            [{"k_id": r["k_id"], **{f"v_{c}": r[c] for c in _MUTABLE}} for r in changed],
        )
    for key in working.changed_projects:
        facts = working.projects[key]
        row = {
            "name": facts.name,
            "time_zone": facts.time_zone,
            "households": facts.households,
            "version": facts.version,
        }
        if key in existing_projects:
            conn.execute(
                update(t.projects)
                .where(
                    t.projects.c.generation == gen,
                    t.projects.c.tenant == key[0],
                    t.projects.c.project == key[1],
                )
                .values(**row)
            )
        else:
            conn.execute(
                insert(t.projects).values(generation=gen, tenant=key[0], project=key[1], **row)
            )
    moved = {k: v for k, v in working.positions.items() if k in existing_positions}
    fresh = [
        {"generation": gen, "stream_id": k, "version": v}
        for k, v in working.positions.items()
        if k not in existing_positions
    ]
    if fresh:
        conn.execute(insert(t.positions), fresh)
    if moved:
        conn.execute(
            update(t.positions)
            .where(t.positions.c.generation == gen, t.positions.c.stream_id == bindparam("k_id"))
            .values(version=bindparam("v")),
            [{"k_id": k, "v": v} for k, v in moved.items()],
        )
    if working.added_pending:
        conn.execute(
            insert(t.pending),
            [
                {
                    "generation": gen,
                    "stream_id": sid,
                    "sequence": seq,
                    "event": _waiting_json(working.pending[(sid, seq)]),
                }
                for sid, seq in sorted(working.added_pending)
            ],
        )
    for sid, seq in working.released_pending:
        conn.execute(
            delete(t.pending).where(
                t.pending.c.generation == gen,
                t.pending.c.stream_id == sid,
                t.pending.c.sequence == seq,
            )
        )


def _waiting_json(waiting: Waiting) -> str | None:
    if waiting.event is None:
        return None
    return orjson.dumps(event_fact_json(waiting.event)).decode()


def _advance(
    conn: Connection, gen: int, consumer: str, stream_sequence: int, applied: int, now: datetime
) -> None:
    where = (t.checkpoints.c.generation == gen, t.checkpoints.c.consumer == consumer)
    current = conn.execute(
        select(t.checkpoints.c.stream_sequence, t.checkpoints.c.events_applied).where(*where)
    ).first()
    if current is None:
        conn.execute(
            insert(t.checkpoints).values(
                generation=gen,
                consumer=consumer,
                stream_sequence=stream_sequence,
                events_applied=applied,
                updated_at=now,
            )
        )
        return
    conn.execute(
        update(t.checkpoints)
        .where(*where)
        .values(
            # Redeliveries come back below the position reached: the checkpoint never moves back.
            stream_sequence=max(current.stream_sequence, stream_sequence),
            events_applied=current.events_applied + applied,
            updated_at=now,
        )
    )


def _in_scope(scope: TenantScope) -> list[ColumnElement[bool]]:
    dl = t.dead_letters
    if scope.tenant is None:
        return []
    conditions = [dl.c.tenant == scope.tenant]
    if scope.projects is not None:
        conditions.append(dl.c.project.in_(sorted(scope.projects)))
    return conditions


def _record_dead(conn: Connection, consumer: str, record: DeadLetterRecord, now: datetime) -> None:
    seen = conn.execute(
        select(t.dead_letters.c.id).where(
            t.dead_letters.c.consumer == consumer,
            t.dead_letters.c.letter_key == record.key,
        )
    ).first()
    if seen is not None:
        return
    conn.execute(
        insert(t.dead_letters).values(
            consumer=consumer,
            letter_key=record.key,
            tenant=record.tenant,
            project=record.project,
            subject=record.subject,
            stream_sequence=record.stream_sequence,
            event_id=record.event_id,
            stream_id=record.stream_id,
            sequence=record.sequence,
            error=record.error[:4000],
            num_delivered=record.num_delivered,
            data=record.data,
            recorded_at=now,
            skipped=record.skipped,
        )
    )


def sample_orders(conn: Connection, generation: int, after: str, chunk: int) -> list[OrderFacts]:
    """Draw the samples and roll-up of up to `chunk` orders of `generation` (those after
    order id `after`, which have no samples yet); returns the orders drawn."""
    rows = conn.execute(
        select(t.orders.c.facts)
        .where(t.orders.c.generation == generation, t.orders.c.order_id > after)
        .order_by(t.orders.c.order_id)
        .limit(chunk)
    ).scalars()
    orders = [_stored_facts(raw) for raw in rows]
    write_samples(conn, generation, [(None, facts) for facts in orders])
    return orders


_DIMENSION_COLUMNS = ("building", "kind", "category", "technician", "team")


def write_samples(
    conn: Connection, gen: int, changes: Sequence[tuple[OrderFacts | None, OrderFacts]]
) -> None:
    """Replace the samples of changed orders (facts before, after) and move the roll-up with them.

    Only the KPIs whose samples differ are touched, so an event that changes no figure
    (most of them, for most KPIs) writes nothing here.
    """
    delta: Counter[RollupKey] = Counter()
    measures: Counter[MeasureKey] = Counter()
    stale: list[dict[str, Any]] = []
    fresh: list[tuple[Any, ...]] = []
    for old, new in changes:
        before, after = order_samples(old), order_samples(new)
        changed = changed_kpis(before, after)
        if not changed:
            continue
        counted, measured = rollup_delta(before, after, changed)
        delta.update(counted)
        measures.update(measured)
        for name in sorted(changed):
            if before.get(name):
                stale.append({"k_order": new.order_id, "k_kpi": name})
            fresh.extend(
                _sample_row(gen, name, i, sample) for i, sample in enumerate(after.get(name, []))
            )
    if stale:
        conn.execute(
            delete(t.kpi_samples).where(
                t.kpi_samples.c.generation == gen,
                t.kpi_samples.c.order_id == bindparam("k_order"),
                t.kpi_samples.c.kpi == bindparam("k_kpi"),
            ),
            stale,
        )
    if fresh:
        _insert_many(conn, t.kpi_samples, _SAMPLE_COLUMNS, fresh)
    rows = [(gen, *key, n) for key, n in sorted(delta.items()) if n != 0]
    if rows:
        _insert_many(conn, t.kpi_rollup, _ROLLUP_COLUMNS, rows, add_on_conflict="samples")
    measure_rows = [(gen, *key, n) for key, n in sorted(measures.items()) if n != 0]
    if measure_rows:
        _insert_many(
            conn, t.kpi_measures, _MEASURE_COLUMNS, measure_rows, add_on_conflict="samples"
        )


_SAMPLE_COLUMNS = (
    "generation", "order_id", "kpi", "position", "tenant", "project", "at", "hit", "measure",
    "label", "band", *_DIMENSION_COLUMNS,
)  # fmt: skip
_ROLLUP_COLUMNS = ("generation", *RollupKey._fields, "samples")
_MEASURE_COLUMNS = ("generation", *MeasureKey._fields, "samples")


def _insert_many(
    conn: Connection,
    table: Any,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    add_on_conflict: str | None = None,
) -> None:
    """Insert `rows` (values in the order of `columns`); with `add_on_conflict`, a row whose
    key exists adds to that column.

    The projector writes thousands of these rows a batch, so they are built as tuples, not
    dicts. On SQLite they go straight to the driver's executemany, each value through the
    column type's own bind processor: SQLAlchemy's per-row parameter handling cost more
    than the inserts themselves on this hot path.
    """
    if conn.dialect.name != "sqlite":
        statement = (postgresql_insert if conn.dialect.name == "postgresql" else insert)(table)
        if add_on_conflict is not None:
            statement = statement.on_conflict_do_update(
                index_elements=[c.name for c in table.primary_key.columns],
                set_={
                    add_on_conflict: table.c[add_on_conflict] + statement.excluded[add_on_conflict]
                },
            )
        conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    # Only the UTC timestamps need their type's processing (to SQLAlchemy's text form, which
    # the range queries compare); sqlite3 takes str, int, float, bool and None as they are.
    dated = [
        (i, table.c[c].type._cached_bind_processor(conn.dialect))
        for i, c in enumerate(columns)
        if isinstance(table.c[c].type, UTCDateTime)
    ]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    if add_on_conflict is not None:
        keys = ", ".join(c.name for c in table.primary_key.columns)
        sql += (
            f" ON CONFLICT ({keys}) DO UPDATE SET"
            f" {add_on_conflict} = {add_on_conflict} + excluded.{add_on_conflict}"
        )
    if dated:
        processed = []
        for row in rows:
            values = list(row)
            for i, process in dated:
                if values[i] is not None:
                    values[i] = process(values[i])
            processed.append(tuple(values))
        conn.exec_driver_sql(sql, processed)
        return
    conn.exec_driver_sql(sql, rows)


def _sample_row(gen: int, kpi: str, position: int, sample: Sample) -> tuple[Any, ...]:
    """A sample as a row of `_SAMPLE_COLUMNS`."""
    dims = sample.dims
    return (
        gen, sample.order_id, kpi, position, sample.tenant, sample.project, sample.at,
        sample.hit, sample.measure, sample.label, band_or_none(sample),
        *(dims.get(d) for d in _DIMENSION_COLUMNS),
    )  # fmt: skip


def _sample_of(row: Any) -> Sample:
    return Sample(
        order_id=row.order_id,
        tenant=row.tenant,
        project=row.project,
        at=row.at,
        hit=row.hit,
        measure=row.measure,
        label=row.label,
        dims={d: getattr(row, d) for d in _DIMENSION_COLUMNS},
    )


def _window_where(window: Window) -> list[Any]:
    return [
        t.kpi_rollup.c.span == window.span,
        t.kpi_rollup.c.slot >= window.first,
        t.kpi_rollup.c.slot < window.end,
    ]


def _period_where(table: Any, gen: int, tenant: str, part: ScopePart) -> list[Any]:
    """A generation's rows of a part's projects with `at` in its period."""
    return [
        table.c.generation == gen,
        table.c.tenant == tenant,
        table.c.project.in_(sorted(part.projects)),
        table.c.at >= part.low,
        table.c.at < part.high,
    ]


def _part_where(table: Any, gen: int, tenant: str, kpi: str, part: ScopePart) -> list[Any]:
    return [*_period_where(table, gen, tenant, part), table.c.kpi == kpi]


_NUMBERS_CHUNK = 500
"""Order ids per query of their numbers (a drill-down lists up to 5000)."""


class ReadView:
    """The current generation as one transaction sees it: what KPI queries read."""

    def __init__(self, conn: Connection, generation: int) -> None:
        self._conn = conn
        self._gen = generation

    def order_numbers(self, order_ids: Collection[str]) -> dict[str, str]:
        """The number of each of these orders that has one."""
        o = t.orders.c
        wanted = sorted(set(order_ids))
        found: dict[str, str] = {}
        for first in range(0, len(wanted), _NUMBERS_CHUNK):
            chunk = wanted[first : first + _NUMBERS_CHUNK]
            rows = self._conn.execute(
                select(o.order_id, o.number).where(
                    o.generation == self._gen, o.order_id.in_(chunk), o.number.is_not(None)
                )
            ).all()
            found.update({order_id: number for order_id, number in rows})
        return found

    def open_orders(self, tenant: str, projects: frozenset[str] | None) -> list[OrderFacts]:
        """The facts of the orders still open (backlog, at-risk clocks): few at any time."""
        where = [
            t.orders.c.generation == self._gen,
            t.orders.c.tenant == tenant,
            t.orders.c.status.in_(sorted(OrderStatus.OPEN)),
        ]
        if projects is not None:
            where.append(t.orders.c.project.in_(sorted(projects)))
        rows = self._conn.execute(select(t.orders.c.facts).where(*where)).scalars().all()
        return [_stored_facts(r) for r in rows]

    def project_facts(
        self, tenant: str, projects: frozenset[str] | None
    ) -> tuple[dict[tuple[str, str], ProjectFacts], set[str]]:
        """The registered projects' facts, and every project that has samples at all."""
        where = [t.projects.c.generation == self._gen, t.projects.c.tenant == tenant]
        if projects is not None:
            where.append(t.projects.c.project.in_(sorted(projects)))
        return _projects(self._conn, where), _sampled_projects(self._conn, self._gen, tenant)

    def rollup(
        self,
        tenant: str,
        kpis: Sequence[str],
        parts: Sequence[ScopePart],
        by_slot: bool = False,
    ) -> list[RollupRow]:
        """The roll-up summed per project, KPI, label, hit and band over each part's period.

        With `by_slot`, per hour slot too (for a series). Parts without windows count nothing.
        """
        r = t.kpi_rollup.c
        keys = [r.project, r.kpi, r.label, r.hit, r.band]
        if by_slot:
            keys.insert(1, r.slot)
        found: list[RollupRow] = []
        for part in parts:
            spans = _hours(part) if by_slot else part.windows or []
            for window in spans:
                rows = self._conn.execute(
                    select(*keys, func.sum(r.samples))
                    .where(
                        r.generation == self._gen,
                        r.tenant == tenant,
                        r.project.in_(sorted(part.projects)),
                        r.kpi.in_(sorted(kpis)),
                        *_window_where(window),
                    )
                    .group_by(*keys)
                ).all()
                for row in rows:
                    values = list(row)
                    slot = int(values.pop(1)) if by_slot else None
                    project, kpi, label, hit, band, n = values
                    found.append(RollupRow(project, slot, kpi, label, int(hit), int(band), int(n)))
        return found

    def notification_counts(
        self, tenant: str, parts: Sequence[ScopePart]
    ) -> list[tuple[str, str, str, int]]:
        """Notification events counted per channel, template and outcome in the parts' periods."""
        c = t.notification_events.c
        keys = (c.channel, c.template, c.outcome)
        found: list[tuple[str, str, str, int]] = []
        for part in parts:
            rows = self._conn.execute(
                select(*keys, func.count())
                .where(*_period_where(t.notification_events, self._gen, tenant, part))
                .group_by(*keys)
            ).all()
            found.extend((str(a), str(b), str(o), int(n)) for a, b, o, n in rows)
        return found

    def band_measures(
        self, tenant: str, kpi: str, band: int, parts: Sequence[ScopePart]
    ) -> list[tuple[float, int]]:
        """The measures of one band of a duration KPI in the parts' periods: (measure, count)."""
        m = t.kpi_measures.c
        return _measure_counts(
            self._conn.execute(
                select(m.measure, func.sum(m.samples))
                .where(
                    m.generation == self._gen,
                    m.tenant == tenant,
                    m.kpi == kpi,
                    m.band == band,
                    m.span == window.span,
                    m.project.in_(sorted(part.projects)),
                    m.slot >= window.first,
                    m.slot < window.end,
                )
                .group_by(m.measure)
            ).all()
            for part in parts
            for window in part.windows or []
        )

    def samples(
        self,
        tenant: str,
        kpi: str,
        parts: Sequence[ScopePart],
        filters: Mapping[str, str] | None = None,
    ) -> list[Sample]:
        """The samples of a KPI in the parts' periods, narrowed by dimension filters."""
        found: list[Sample] = []
        for part in parts:
            rows = self._conn.execute(
                select(t.kpi_samples).where(
                    *_part_where(t.kpi_samples, self._gen, tenant, kpi, part),
                    *_narrowed(filters or {}),
                )
            ).all()
            found.extend(_sample_of(row) for row in rows)
        return found

    def sample_counts(
        self,
        tenant: str,
        kpis: Sequence[str],
        parts: Sequence[ScopePart],
        filters: Mapping[str, str | None],
        group_by: str | None = None,
    ) -> list[SampleCount]:
        """The per-sample rows in the parts' periods, narrowed by `filters` and counted in
        SQL per value of `group_by`, KPI, label, hit and band (the roll-up's keys)."""
        c = t.kpi_samples.c
        keys = [
            c.kpi,
            func.coalesce(c.label, NO_LABEL),
            case((c.hit.is_(None), HIT_NONE), (c.hit.is_(True), HIT_TRUE), else_=HIT_FALSE),
            func.coalesce(c.band, NO_BAND),
        ]
        if group_by is not None:
            keys.insert(0, c[group_by])
        found: list[SampleCount] = []
        for part in parts:
            rows = self._conn.execute(
                select(*keys, func.count())
                .where(
                    *_period_where(t.kpi_samples, self._gen, tenant, part),
                    c.kpi.in_(sorted(kpis)),
                    *_narrowed(filters),
                )
                .group_by(*keys)
            ).all()
            for row in rows:
                values = list(row)
                group = values.pop(0) if group_by is not None else None
                kpi, label, hit, band, n = values
                found.append(SampleCount(group, kpi, label, int(hit), int(band), int(n)))
        return found

    def sample_band_measures(
        self,
        tenant: str,
        kpi: str,
        band: int,
        parts: Sequence[ScopePart],
        filters: Mapping[str, str | None],
    ) -> list[tuple[float, int]]:
        """The measures of one band of a duration KPI among the per-sample rows narrowed by
        `filters`, as (measure, count) ascending: `band_measures` without the roll-up."""
        c = t.kpi_samples.c
        return _measure_counts(
            self._conn.execute(
                select(c.measure, func.count())
                .where(
                    *_part_where(t.kpi_samples, self._gen, tenant, kpi, part),
                    c.band == band,
                    *_narrowed(filters),
                )
                .group_by(c.measure)
            ).all()
            for part in parts
        )


def _measure_counts(results: Iterable[Sequence[Any]]) -> list[tuple[float, int]]:
    """(measure, count) rows of several queries summed per measure, ascending, none at 0."""
    found: Counter[float] = Counter()
    for rows in results:
        for measure, n in rows:
            found[float(measure)] += int(n)
    return sorted((k, n) for k, n in found.items() if n)


def _narrowed(filters: Mapping[str, str | None]) -> list[Any]:
    """Conditions on the per-sample rows for dimension values (None: the order has none)."""
    c = t.kpi_samples.c
    return [
        c[d].is_(None) if v is None else c[d] == v
        for d, v in filters.items()
        if d == "project" or d in _DIMENSION_COLUMNS
    ]
