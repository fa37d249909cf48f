"""The development outbox: where SMS and e-mail go on a local stack that has no provider.

With `ENVIRONMENT=development`, a channel whose real provider is not configured (SMS
without `SMS_ENDPOINT`/`SMS_API_KEY`, e-mail without `SMTP_HOST`) delivers into this
table instead of being left out: the delivery is recorded as sent, and the console shows
the rendered text ("what residents received"). Production never stands it in
(`stands_in_for`), so a missing provider there stays visible as unreached recipients.

Writing is idempotent on the delivery id: a resend after a crash adds nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.domain.model import ChannelName
from services.notify.service_layer.ports import OutboundMessage
from shared.clock import Clock

PROVIDER_CHANNELS: tuple[ChannelName, ...] = (ChannelName.SMS, ChannelName.EMAIL)
"""The channels that need an outside provider the local stack does not have."""


def stands_in_for(environment: str, configured: Collection[ChannelName]) -> list[ChannelName]:
    """The channels the development outbox delivers for: in development only, those of
    `PROVIDER_CHANNELS` that have no real provider configured."""
    if environment != "development":
        return []
    return [channel for channel in PROVIDER_CHANNELS if channel not in configured]


class DevOutboxChannel:
    """Keeps the message as `channel` would have sent it, in notify's database, with the
    address as the delivery records it (a resident's phone masked)."""

    def __init__(self, engine: AsyncEngine, clock: Clock, channel: ChannelName) -> None:
        self._engine = engine
        self._clock = clock
        self._channel = channel

    async def send(self, message: OutboundMessage) -> None:
        """Write the message (nothing if this delivery was written before)."""
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        stmt = (
            insert(t.dev_outbox)
            .values(
                delivery_id=message.delivery_id,
                tenant=message.tenant,
                project=message.project,
                channel=str(self._channel),
                recipient=message.recipient,
                recipient_name=message.recipient_name,
                # As the row records it: a resident's phone masked, never the clear
                # number the send was given.
                address=message.recorded_address or message.address,
                subject=message.subject,
                body_text=message.text,
                event_type=message.event_type,
                work_order_id=message.work_order_id,
                created_at=self._clock.now(),
            )
            .on_conflict_do_nothing(index_elements=[t.dev_outbox.c.delivery_id])
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)


async def list_dev_outbox(
    engine: AsyncEngine,
    tenant: str,
    projects: frozenset[str] | None,
    *,
    work_order_id: str | None,
    address: str | None,
    after_id: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The messages kept for `tenant` (only `projects`' when given), oldest first, by the
    order they were about and by the address they went to (a phone, an e-mail address)."""
    o = t.dev_outbox
    conditions: list[ColumnElement[bool]] = [o.c.tenant == tenant, o.c.id > after_id]
    if projects is not None:
        conditions.append(o.c.project.in_(sorted(projects)))
    if work_order_id is not None:
        conditions.append(o.c.work_order_id == work_order_id)
    if address is not None:
        conditions.append(o.c.address == address)
    query = select(o).where(*conditions).order_by(o.c.id).limit(limit)
    async with engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(query)).mappings()]
