"""Dead letters: events the projector gave up on, kept with their tenant and error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.engine import Connection

from services.reporting.adapters import tables as t
from services.reporting.service_layer.ports import DeadLetterRecord


@dataclass(frozen=True)
class TenantScope:
    """Whose dead letters a reader sees: one tenant (None: every tenant and the letters
    of no tenant, for the platform operator's CLI), some projects (None: all of them)."""

    tenant: str | None
    projects: frozenset[str] | None = None


EVERY_TENANT = TenantScope(tenant=None)


def record_dead_letter(
    conn: Connection, consumer: str, record: DeadLetterRecord, now: datetime
) -> None:
    """Keep `record` once per consumer and key (a redelivered poison event is not doubled)."""
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


def dead_letter_keys(conn: Connection, consumer: str, keys: list[str]) -> set[str]:
    """Which of `keys` are kept as dead letters of `consumer`."""
    dl = t.dead_letters
    rows = conn.execute(
        select(dl.c.letter_key).where(dl.c.consumer == consumer, dl.c.letter_key.in_(keys))
    )
    return {str(key) for key in rows.scalars()}


def latest_dead_letters(conn: Connection, limit: int, scope: TenantScope) -> list[dict[str, Any]]:
    """The latest dead letters in `scope`, newest first (the raw body left out)."""
    dl = t.dead_letters
    columns = [c for c in dl.c if c.name not in ("data", "letter_key")]
    rows = conn.execute(
        select(*columns).where(*_in_scope(scope)).order_by(dl.c.id.desc()).limit(limit)
    ).all()
    # Row keys are str subclasses; the JSON encoder (orjson) wants plain str keys.
    return [{str(k): v for k, v in r._mapping.items()} for r in rows]


def dead_letter_count(conn: Connection, scope: TenantScope) -> int:
    """How many events of `scope` were given up on."""
    query = select(func.count()).select_from(t.dead_letters).where(*_in_scope(scope))
    return int(conn.execute(query).scalar_one())


def _in_scope(scope: TenantScope) -> list[ColumnElement[bool]]:
    dl = t.dead_letters
    if scope.tenant is None:
        return []
    conditions = [dl.c.tenant == scope.tenant]
    if scope.projects is not None:
        conditions.append(dl.c.project.in_(sorted(scope.projects)))
    return conditions
