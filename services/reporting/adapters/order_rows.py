"""The read model's rows of one batch: loaded into a `WorkingSet`, written back as changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.domain.facts import OrderFacts, ProjectFacts
from services.reporting.service_layer.projection import (
    Waiting,
    WorkingSet,
    event_fact_from_json,
    event_fact_json,
)

_CHUNK = 500
"""Most keys in one IN list (SQLite allows 32766 parameters; PostgreSQL more)."""


def chunks(keys: Iterable[str]) -> Iterable[list[str]]:
    """`keys` sorted, in lists short enough for one IN clause."""
    ordered = sorted(keys)
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i : i + _CHUNK]


def project_rows(conn: Connection, where: list[Any]) -> dict[tuple[str, str], ProjectFacts]:
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


def load_working_set(conn: Connection, gen: int, streams: set[str]) -> WorkingSet:
    working = WorkingSet()
    project_keys: set[tuple[str, str]] = set()
    for chunk in chunks(streams):
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
            facts = stored_facts(raw)
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
        loaded = project_rows(
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


def stored_facts(raw: str | bytes) -> OrderFacts:
    """An order's facts as `order_values` stored them."""
    return OrderFacts.from_json(orjson.loads(raw))


ORDER_COLUMNS = (
    "generation", "order_id", "tenant", "project", "kind", "status", "reported_at",
    "updated_at", "facts", "number",
)  # fmt: skip
POSITION_COLUMNS = ("generation", "stream_id", "version")


def order_values(gen: int, facts: OrderFacts) -> tuple[Any, ...]:
    """An order's row, its values in the order of `ORDER_COLUMNS`."""
    return (
        gen,
        facts.order_id,
        facts.tenant,
        facts.project,
        facts.kind,
        facts.status,
        facts.reported_at,
        facts.updated_at or facts.reported_at,
        orjson.dumps(facts.to_json()).decode(),
        facts.number,
    )


def new_stream_rows(
    gen: int, working: WorkingSet
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The order rows (`ORDER_COLUMNS`) and position rows (`POSITION_COLUMNS`) of
    `working`, folded from nothing: every one of them new in `gen`."""
    orders = [order_values(gen, working.orders[k]) for k in sorted(working.changed_orders)]
    positions = [(gen, k, v) for k, v in sorted(working.positions.items())]
    return orders, positions


def write_working_set(
    conn: Connection,
    gen: int,
    working: WorkingSet,
    existing_orders: set[str],
    existing_projects: set[tuple[str, str]],
    existing_positions: set[str],
) -> None:
    _write_orders(conn, gen, working, existing_orders)
    write_projects(conn, gen, working, existing_projects)
    _write_positions(conn, gen, working, existing_positions)
    write_pending(conn, gen, working)


def _write_orders(conn: Connection, gen: int, working: WorkingSet, existing: set[str]) -> None:
    def row(k: str) -> dict[str, Any]:
        return dict(zip(ORDER_COLUMNS, order_values(gen, working.orders[k]), strict=True))

    new_orders = [row(k) for k in working.changed_orders - existing]
    changed = [row(k) | {"k_id": k} for k in working.changed_orders & existing]
    if new_orders:
        conn.execute(insert(t.orders), new_orders)
    if changed:
        conn.execute(
            update(t.orders)
            .where(t.orders.c.generation == gen, t.orders.c.order_id == bindparam("k_id"))
            .values({c: bindparam(f"v_{c}") for c in _MUTABLE}),
            [{"k_id": r["k_id"], **{f"v_{c}": r[c] for c in _MUTABLE}} for r in changed],
        )


def write_projects(
    conn: Connection, gen: int, working: WorkingSet, existing: set[tuple[str, str]]
) -> None:
    """The projects `working` changed: updated where `existing`, else inserted."""
    for key in working.changed_projects:
        facts = working.projects[key]
        row = {
            "name": facts.name,
            "time_zone": facts.time_zone,
            "households": facts.households,
            "version": facts.version,
        }
        if key in existing:
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


def _write_positions(conn: Connection, gen: int, working: WorkingSet, existing: set[str]) -> None:
    moved = {k: v for k, v in working.positions.items() if k in existing}
    fresh = [
        {"generation": gen, "stream_id": k, "version": v}
        for k, v in working.positions.items()
        if k not in existing
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


def write_pending(conn: Connection, gen: int, working: WorkingSet) -> None:
    """The waiting events `working` added and released."""
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


def write_notifications(conn: Connection, gen: int, working: WorkingSet) -> None:
    """The notification outcomes `working` folded."""
    if working.notifications:
        conn.execute(
            insert(t.notification_events),
            [{"generation": gen, **n.__dict__} for n in working.notifications],
        )


def _waiting_json(waiting: Waiting) -> str | None:
    if waiting.event is None:
        return None
    return orjson.dumps(event_fact_json(waiting.event)).decode()
