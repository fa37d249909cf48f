"""reporting's copies of events recorded before sealing, masked in place: the events
waiting for their turn (`rp_pending`, per generation) and the dead letters' raw bodies.
The read model itself keeps no resident's data (buildings only), so nothing else holds
a clear value."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.adapters import tables as t
from shared.privacy.clear_reports import mask_json_bodies, masked_report


@dataclass(frozen=True, slots=True)
class Masked:
    """The rows changed (dry: to change)."""

    waiting: int = 0
    dead_letters: int = 0


async def mask_stored_personal_data(
    engine: AsyncEngine, *, batch_size: int = 500, dry_run: bool = False
) -> Masked:
    """Mask the reports in the waiting events (one transaction: they are the few that
    arrived ahead of a gap) and in the dead letters (`batch_size` to a transaction)."""
    p = t.pending.c
    waiting = 0
    async with engine.connect() as conn:
        transaction = await conn.begin()
        rows = (await conn.execute(select(p.generation, p.stream_id, p.sequence, p.event))).all()
        for row in rows:
            if not row.event:
                continue  # a skip marker: no event
            event = orjson.loads(row.event)
            masked = masked_report(event) if isinstance(event, dict) else event
            if masked != event:
                await conn.execute(
                    update(t.pending)
                    .where(
                        p.generation == row.generation,
                        p.stream_id == row.stream_id,
                        p.sequence == row.sequence,
                    )
                    .values(event=orjson.dumps(masked).decode())
                )
                waiting += 1
        await (transaction.rollback() if dry_run else transaction.commit())
    letters = await mask_json_bodies(
        engine, t.dead_letters, "data", masked_report, batch_size=batch_size, dry_run=dry_run
    )
    return Masked(waiting, letters)
