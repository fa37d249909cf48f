"""Events recorded before sealing, kept raw by a consumer (a dead letter, an event
waiting for its turn): their reporter's name and phone and their unit and detail masked.

A consumer holds an event's body as it came; one from before sealing holds the clear
values. Masking them in place (the masks `workorder.reported` carries now) leaves
nothing clear, and what the consumer does with the body later (retry, apply) needs no
resident's contact: notify asks dispatch for a phone at send time, reporting keeps
buildings only. Each function is idempotent: a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.privacy.masking import mask_address, mask_name, mask_phone

Body = dict[str, Any]

_REPORT_MASKS = (
    ("reporter", "name", mask_name),
    ("reporter", "phone", mask_phone),
    ("location", "unit", mask_address),
    ("location", "detail", mask_address),
)


def masked_report(envelope: Body) -> Body:
    """An event (an envelope, or anything with the event's `data`) with its reporter's
    name and phone and its unit and detail masked, when its data has them."""
    data = envelope.get("data")
    if not isinstance(data, dict):
        return envelope
    out = dict(data)
    for section, key, mask in _REPORT_MASKS:
        part = out.get(section)
        if isinstance(part, dict) and isinstance(part.get(key), str) and part[key]:
            out[section] = {**part, key: mask(part[key])}
    return {**envelope, "data": out}


async def mask_json_bodies(
    engine: AsyncEngine,
    table: Table,
    column: str,
    mask: Callable[[Body], Body],
    *,
    batch_size: int = 500,
    dry_run: bool = False,
) -> int:
    """Mask the JSON bodies (bytes) in `column` of `table`, rows taken by their integer
    `id` `batch_size` to a transaction; how many changed (dry: would change). A body that
    is no JSON object is kept as it is: whoever stored it could not read it either."""
    changed = 0
    after = 0
    while True:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            query = (
                select(table.c.id, table.c[column])
                .where(table.c.id > after)
                .order_by(table.c.id)
                .limit(batch_size)
            )
            rows = (await conn.execute(query)).all()
            for row in rows:
                masked = _masked(row[1], mask)
                if masked is not None:
                    await conn.execute(
                        update(table).where(table.c.id == row.id).values({column: masked})
                    )
                    changed += 1
            await (transaction.rollback() if dry_run else transaction.commit())
        if len(rows) < batch_size:
            return changed
        after = rows[-1].id


def _masked(body: bytes | None, mask: Callable[[Body], Body]) -> bytes | None:
    """The masked body, or None when there is nothing to change."""
    try:
        envelope = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(envelope, dict):
        return None
    masked = mask(envelope)
    return orjson.dumps(masked) if masked != envelope else None
