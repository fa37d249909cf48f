"""Consumer checkpoints: how far each consumer has applied the stream into a generation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t


@dataclass(frozen=True)
class Checkpoint:
    """How far a consumer has applied the stream into a generation."""

    generation: int
    consumer: str
    stream_sequence: int
    events_applied: int
    updated_at: datetime


def read_checkpoint(conn: Connection, consumer: str, generation: int) -> Checkpoint | None:
    """`consumer`'s checkpoint in `generation`, if it has one."""
    row = conn.execute(
        select(t.checkpoints).where(
            t.checkpoints.c.generation == generation, t.checkpoints.c.consumer == consumer
        )
    ).first()
    return Checkpoint(**row._mapping) if row is not None else None


def advance(
    conn: Connection, gen: int, consumer: str, stream_sequence: int, applied: int, now: datetime
) -> None:
    """Move `consumer`'s checkpoint in `gen` to `stream_sequence` (never back), counting
    `applied` more events."""
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
