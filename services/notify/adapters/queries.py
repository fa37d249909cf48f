"""Read side of notify's API: deliveries, dead letters and inboxes, filtered and paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Result, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.domain.model import DeliveryStatus


@dataclass(frozen=True, slots=True)
class Scope:
    """What the caller may see: one tenant (None: every tenant, for the operator's CLI),
    some projects (None: every project)."""

    tenant: str | None
    projects: frozenset[str] | None


def _plain(result: Result[Any]) -> list[dict[str, Any]]:
    # Column keys are str subclasses; JSON encoders (orjson) want plain str keys.
    return [{str(k): v for k, v in row.items()} for row in result.mappings()]


def _scoped(table: Any, scope: Scope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if scope.tenant is not None:
        conditions.append(table.c.tenant == scope.tenant)
    if scope.projects is not None:
        conditions.append(table.c.project.in_(sorted(scope.projects)))
    return conditions


_INTERNAL = ("dedup_key", "lease_token")
"""Delivery columns that are notify's bookkeeping, not part of any answer."""


async def list_deliveries(
    engine: AsyncEngine,
    scope: Scope,
    *,
    filters: dict[str, str | None],
    since: datetime | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Deliveries newest first, by the given column filters (work order, status, ...)."""
    d = t.deliveries
    conditions = _scoped(d, scope)
    for column, value in filters.items():
        if value is not None:
            conditions.append(d.c[column] == value)
    if since is not None:
        conditions.append(d.c.created_at >= since)
    columns = [c for c in d.c if c.name not in _INTERNAL and c.name != "body_html"]
    query = (
        select(*columns)
        .where(*conditions)
        .order_by(d.c.created_at.desc(), d.c.id)
        .limit(limit)
        .offset(offset)
    )
    async with engine.connect() as conn:
        return _plain(await conn.execute(query))


async def get_delivery(
    engine: AsyncEngine, scope: Scope, delivery_id: str
) -> dict[str, Any] | None:
    """One delivery with its bodies."""
    d = t.deliveries
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(d).where(d.c.id == delivery_id, *_scoped(d, scope))))
            .mappings()
            .first()
        )
    if row is None:
        return None
    return {str(k): v for k, v in row.items() if k not in _INTERNAL}


async def list_dead_letters(
    engine: AsyncEngine, scope: Scope, *, kind: str | None, include_retried: bool, limit: int
) -> list[dict[str, Any]]:
    """Dead letters newest first, without their body.

    A body that was not an envelope names no tenant and may hold anyone's data: only
    the platform operator's scope (every tenant: `wo notify dead-letters`) lists it.
    """
    dl = t.dead_letters
    conditions = _scoped(dl, scope)
    if kind is not None:
        conditions.append(dl.c.kind == kind)
    if not include_retried:
        conditions.append(dl.c.retried_at.is_(None))
    columns = [c for c in dl.c if c.name not in ("data", "letter_key")]
    query = select(*columns).where(*conditions).order_by(dl.c.id.desc()).limit(limit)
    async with engine.connect() as conn:
        return _plain(await conn.execute(query))


async def dead_letter_scope(
    engine: AsyncEngine, dead_letter_id: int
) -> tuple[str | None, str | None] | None:
    """Tenant and project of a dead letter (None if it does not exist)."""
    dl = t.dead_letters
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(dl.c.tenant, dl.c.project).where(dl.c.id == dead_letter_id))
        ).first()
    return None if row is None else (row.tenant, row.project)


async def list_inbox(
    engine: AsyncEngine, tenant: str, person: str, *, after_id: int, unread_only: bool, limit: int
) -> list[dict[str, Any]]:
    """A person's inbox messages with id above `after_id`, oldest first."""
    i = t.inbox
    conditions: list[ColumnElement[bool]] = [
        i.c.tenant == tenant,
        i.c.person == person,
        i.c.id > after_id,
    ]
    if unread_only:
        conditions.append(i.c.read_at.is_(None))
    query = select(i).where(*conditions).order_by(i.c.id).limit(limit)
    async with engine.connect() as conn:
        return _plain(await conn.execute(query))


async def mark_read(
    engine: AsyncEngine, tenant: str, person: str, message_id: int, at: datetime
) -> bool:
    """Mark one of a person's messages read; False if it is not theirs or does not exist."""
    i = t.inbox
    async with engine.begin() as conn:
        result = await conn.execute(
            update(i)
            .where(i.c.id == message_id, i.c.tenant == tenant, i.c.person == person)
            .values(read_at=at)
        )
    return bool(result.rowcount)


async def resident_messages(
    engine: AsyncEngine, tenant: str, resident: str
) -> list[dict[str, Any]]:
    """The messages sent to a resident (`resident:<reference>`), oldest first: what they
    were told, when and how (their address as the row holds it: masked)."""
    d = t.deliveries
    columns = [
        d.c.id,
        d.c.project,
        d.c.work_order_id,
        d.c.event_type,
        d.c.channel,
        d.c.address,
        d.c.language,
        d.c.subject,
        d.c.body_text,
        d.c.sent_at,
    ]
    query = (
        select(*columns)
        .where(
            d.c.tenant == tenant,
            d.c.recipient == f"resident:{resident}",
            d.c.status == str(DeliveryStatus.SENT),
        )
        .order_by(d.c.sent_at, d.c.id)
    )
    async with engine.connect() as conn:
        return _plain(await conn.execute(query))
