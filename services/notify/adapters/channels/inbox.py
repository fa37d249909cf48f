"""The in-app inbox: one row per message in notify's database, and a wake-up for streams.

Writing is idempotent on the delivery id, so a resend after a crash adds nothing. Once
the row is committed, the recipient's open server-sent-event streams are woken: those of
this process at once, those of every other notify process through a core NATS message
on `notify.inbox.<tenant>.<person>` (not kept by any stream: a wake missed while the bus
is down is made up by the streams' slow safety poll).
"""

from __future__ import annotations

import asyncio
import base64
import uuid

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.store import SqlStore
from services.notify.service_layer.ports import OutboundMessage
from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)

WAKE_PREFIX = "notify.inbox"


def wake_subject(tenant: str, person: str) -> str:
    """The core NATS subject that wakes `person`'s streams (any id becomes a valid token)."""
    token = base64.urlsafe_b64encode(person.encode()).decode().rstrip("=")
    return f"{WAKE_PREFIX}.{tenant}.{token}"


class InboxBroker:
    """Wakes the server-sent-event streams of a person, in this process and the others."""

    def __init__(self) -> None:
        self._waiters: dict[tuple[str, str], set[asyncio.Event]] = {}
        self._origin = uuid.uuid4().hex.encode()
        self._bus: Client | None = None
        self._subscription: Subscription | None = None

    def subscribe(self, tenant: str, person: str) -> asyncio.Event:
        """An event set whenever a message for `person` arrives; `unsubscribe` it when done."""
        event = asyncio.Event()
        self._waiters.setdefault((tenant, wake_subject(tenant, person)), set()).add(event)
        return event

    def unsubscribe(self, tenant: str, person: str, event: asyncio.Event) -> None:
        """Stop waking `event`."""
        key = (tenant, wake_subject(tenant, person))
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[key]

    async def attach(self, bus: Client) -> None:
        """Join the bus: hear the other processes' wake-ups and send ours."""
        self._bus = bus
        self._subscription = await bus.subscribe(f"{WAKE_PREFIX}.>", cb=self._heard)
        await bus.flush()  # the server has the subscription: no wake-up is missed from now

    @property
    def attached(self) -> bool:
        """Whether wake-ups go over the bus (else streams rely on their safety poll)."""
        return self._subscription is not None

    async def publish(self, tenant: str, person: str) -> None:
        """Wake `person`'s streams here and in every other notify process."""
        subject = wake_subject(tenant, person)
        self._wake(tenant, subject)
        if self._bus is None or not self._bus.is_connected:
            return
        try:
            await self._bus.publish(subject, self._origin)
        except Exception as exc:
            # The other processes' streams poll as a safety net; the message is stored.
            log.warning("notify.inbox_wake_failed", error=repr(exc))

    async def _heard(self, msg: Msg) -> None:
        if msg.data == self._origin:
            return  # our own wake-up, already delivered locally
        tenant = msg.subject.split(".")[2]
        self._wake(tenant, msg.subject)

    def _wake(self, tenant: str, subject: str) -> None:
        for event in self._waiters.get((tenant, subject), ()):
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
        await self._broker.publish(message.tenant, message.address)
