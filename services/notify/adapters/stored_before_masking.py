"""notify's rows written before it kept no clear resident data, masked in place
(`domain.stored_before_masking`): the work-order facts and, per work order, the
deliveries, inbox messages and dev-outbox rows rendered from them, a transaction per
batch of work orders; then the dead letters' stored events and the outbox's
notification events, a transaction per batch of rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notify.adapters import tables as t
from services.notify.domain.model import Audience, ChannelName
from services.notify.domain.stored_before_masking import (
    masked_dedup_key,
    masked_facts,
    masked_notification,
    masked_text,
    replacements,
    resident_recipient,
)
from shared.privacy.clear_reports import mask_json_bodies, masked_report
from shared.privacy.masking import mask_name, mask_phone


@dataclass(frozen=True, slots=True)
class Masked:
    """The rows a run changed (or, dry, would change), by table."""

    facts: int = 0
    deliveries: int = 0
    inbox_messages: int = 0
    dev_outbox: int = 0
    dead_letters: int = 0
    outbox: int = 0

    def __add__(self, other: Masked) -> Masked:
        return Masked(*(getattr(self, f) + getattr(other, f) for f in self.__slots__))


Pairs = list[tuple[str, str]]


async def mask_stored_personal_data(
    engine: AsyncEngine,
    *,
    references: Mapping[str, str] | None = None,
    batch_size: int = 500,
    dry_run: bool = False,
    on_batch: Callable[[Masked], None] | None = None,
) -> Masked:
    """Mask every clear copy of residents' data in notify's tables; return what changed.
    `references` names the resident of each work order whose report is sealed (by work
    order id): their facts and deliveries get the reference. A dry run opens the same
    transactions and rolls each back."""
    total = Masked()
    # Digests first: their bodies hold several orders' units, masked by those orders'
    # facts while these are still clear.
    last_digest: str | None = None
    while True:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            changed, last_digest = await _digests(conn, last_digest, batch_size)
            await (transaction.rollback() if dry_run else transaction.commit())
        if last_digest is None:
            break
        total += Masked(deliveries=changed)
        if on_batch is not None and changed:
            on_batch(Masked(deliveries=changed))
    after: str | None = None
    while True:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            done, after = await _orders(conn, after, batch_size, references or {})
            if done is None:
                await transaction.rollback()
                break
            await (transaction.rollback() if dry_run else transaction.commit())
        total += done
        if on_batch is not None:
            on_batch(done)
    for table, column, mask, field in (
        (t.dead_letters, "data", masked_report, "dead_letters"),
        (t.outbox, "body", masked_notification, "outbox"),
    ):
        done = Masked(
            **{
                field: await mask_json_bodies(
                    engine, table, column, mask, batch_size=batch_size, dry_run=dry_run
                )
            }
        )
        total += done
        if on_batch is not None and any(astuple(done)):
            on_batch(done)
    return total


async def _orders(
    conn: AsyncConnection, after: str | None, limit: int, references: Mapping[str, str]
) -> tuple[Masked | None, str | None]:
    w = t.work_orders.c
    query = select(w.id, w.facts).order_by(w.id).limit(limit)
    if after is not None:
        query = query.where(w.id > after)
    rows = (await conn.execute(query)).all()
    if not rows:
        return None, after
    pairs: dict[str, _Order] = {}
    facts_changed = 0
    for row in rows:
        facts = dict(row.facts)
        reference = references.get(row.id) or facts.get("resident")
        pairs[row.id] = _Order(replacements(facts), reference)
        masked = masked_facts(facts, reference)
        if masked != facts:
            await conn.execute(update(t.work_orders).where(w.id == row.id).values(facts=masked))
            facts_changed += 1
    done = Masked(
        facts=facts_changed,
        deliveries=await _rows(conn, t.deliveries, pairs, _delivery),
        inbox_messages=await _rows(conn, t.inbox, pairs, _texts("subject", "body_text")),
        dev_outbox=await _rows(conn, t.dev_outbox, pairs, _dev_outbox),
    )
    return done, rows[-1].id


async def _digests(conn: AsyncConnection, after: str | None, limit: int) -> tuple[int, str | None]:
    """Mask up to `limit` digests after id `after` by the clear values of the orders of
    the deliveries each one carried: (changed, last id, None when there were none)."""
    d = t.deliveries.c
    query = select(d.id, d.subject, d.body_text, d.body_html).where(
        d.work_order_id.is_(None), d.item_count > 0
    )
    if after is not None:
        query = query.where(d.id > after)
    digests = (await conn.execute(query.order_by(d.id).limit(limit))).all()
    changed = 0
    for digest in digests:
        orders = select(d.work_order_id).where(d.digest_id == digest.id)
        facts = select(t.work_orders.c.facts).where(t.work_orders.c.id.in_(orders))
        pairs = sorted(
            {p for row in (await conn.execute(facts)).all() for p in replacements(dict(row.facts))},
            key=lambda pair: -len(pair[0]),
        )
        values = {
            c: masked_text(getattr(digest, c), pairs) for c in ("subject", "body_text", "body_html")
        }
        if any(values[c] != getattr(digest, c) for c in values):
            await conn.execute(update(t.deliveries).where(d.id == digest.id).values(**values))
            changed += 1
    return changed, digests[-1].id if digests else None


@dataclass(frozen=True, slots=True)
class _Order:
    """What a work order's rows are masked by: its clear values with their masks, and
    its resident's reference when known."""

    pairs: Pairs
    reference: str | None


_Change = Callable[[Any, _Order], dict[str, Any]]


async def _rows(
    conn: AsyncConnection, table: Table, pairs: dict[str, _Order], change: _Change
) -> int:
    """Rewrite the rows of `table` about the work orders in `pairs`; how many changed."""
    query = select(table).where(table.c.work_order_id.in_(pairs))
    changed = 0
    for row in (await conn.execute(query)).mappings().all():
        values = {k: v for k, v in change(row, pairs[row["work_order_id"]]).items() if v != row[k]}
        if values:
            await conn.execute(update(table).where(table.c.id == row["id"]).values(**values))
            changed += 1
    return changed


def _texts(*columns: str) -> _Change:
    def change(row: Any, order: _Order) -> dict[str, Any]:
        return {c: masked_text(row[c], order.pairs) for c in columns}

    return change


def _delivery(row: Any, order: _Order) -> dict[str, Any]:
    values = _texts("subject", "body_text", "body_html")(row, order)
    values["recipient"] = resident_recipient(row["recipient"], order.reference)
    values["dedup_key"] = masked_dedup_key(row["dedup_key"], order.reference)
    if row["audience"] == str(Audience.RESIDENT):
        values["recipient_name"] = mask_name(row["recipient_name"])
        if row["channel"] == str(ChannelName.SMS):
            values["address"] = mask_phone(row["address"])
    return values


def _dev_outbox(row: Any, order: _Order) -> dict[str, Any]:
    values = _texts("subject", "body_text")(row, order)
    values["recipient"] = resident_recipient(row["recipient"], order.reference)
    if row["recipient"].startswith("resident:"):
        values["recipient_name"] = mask_name(row["recipient_name"])
        if row["channel"] == str(ChannelName.SMS):
            values["address"] = mask_phone(row["address"])
    return values
