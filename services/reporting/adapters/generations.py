"""Generations of the read model: the one readers see, and the ones a rebuild fills.

Every read-model table carries a `generation`; `rp_generation` names the current one. A
rebuild fills the next generation while the projector goes on in the current one, then
switches readers over in one transaction and drops the old rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.adapters.checkpoints import advance

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


def current_generation(conn: Connection) -> int:
    """The generation readers see."""
    return int(
        conn.execute(select(t.generation.c.current).where(t.generation.c.id == 1)).scalar_one()
    )


def drop_generation(conn: Connection, generation: int) -> None:
    """Delete every row of `generation`."""
    for table in GENERATION_TABLES:
        conn.execute(delete(table).where(table.c.generation == generation))


def next_generation(conn: Connection) -> int:
    """An empty generation after every one in use (leftovers of a failed rebuild dropped)."""
    highest = max(
        current_generation(conn),
        *(
            int(conn.execute(select(func.max(table.c.generation))).scalar() or 0)
            for table in GENERATION_TABLES
        ),
    )
    target = highest + 1
    drop_generation(conn, target)
    return target


def switch_generation(
    conn: Connection, target: int, consumer: str, stream_sequence: int, now: datetime
) -> int:
    """Make `target` current and start `consumer` there at `stream_sequence`; the old one."""
    old = current_generation(conn)
    conn.execute(
        update(t.generation).where(t.generation.c.id == 1).values(current=target, switched_at=now)
    )
    advance(conn, target, consumer, stream_sequence, 0, now)
    return old
