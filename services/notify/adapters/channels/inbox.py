"""The in-app inbox: one row per message in notify's database, and a wake-up for streams.

Writing is idempotent on the delivery id, so a resend after a crash adds nothing. Open
server-sent-event streams of this process are woken at once; they also poll, so a
message written by another notify process reaches them too.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.store import SqlStore
from services.notify.service_layer.ports import OutboundMessage
from shared.clock import Clock


class InboxBroker:
    """Wakes the server-sent-event streams of this process when a message arrives."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    def subscribe(self) -> asyncio.Event:
        """An event set whenever a message arrives; `unsubscribe` it when done."""
        event = asyncio.Event()
        self._waiters.add(event)
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        """Stop waking `event`."""
        self._waiters.discard(event)

    def publish(self) -> None:
        """Wake every stream."""
        for event in self._waiters:
            event.set()


class InboxChannel:
    """Delivers into the recipient's inbox (the address is the person or resident id)."""

    def __init__(self, engine: AsyncEngine, clock: Clock, broker: InboxBroker) -> None:
        self._store = SqlStore(engine)
        self._clock = clock
        self._broker = broker

    async def send(self, message: OutboundMessage) -> None:
        """Write the message into the inbox."""
        async with self._store.transaction() as tx:
            stmt = tx.insert_ignoring(
                t.inbox,
                delivery_id=message.delivery_id,
                tenant=message.tenant,
                project=message.project,
                person=message.address,
                subject=message.subject,
                body_text=message.text,
                work_order_id=message.work_order_id,
                created_at=self._clock.now(),
            )
            await tx.connection.execute(
                stmt.on_conflict_do_nothing(index_elements=[t.inbox.c.delivery_id])
            )
        self._broker.publish()
