"""Erasure of a resident's personal data (删除权, PIPL Art. 47), by crypto-shredding.

Destroying the resident's data keys makes every field ever sealed for them unreadable
wherever it is (the event store, the `EVENTS` stream, backups, integrators' copies);
their rows leave the residents' index, so no search finds them; a `resident.erased`
event, holding no personal data, tells every consumer (notify cancels what it still had
to send them). Their work orders and histories stay: events keep their shape, and a
history replays with the fields reading as erased.

Erasing is idempotent: a second erase finds no live key and no order left and answers
the first erasure again, recording nothing. A step interrupted midway is finished by
the next attempt (the key is destroyed first, so nothing can be read meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.domain.privacy import (
    ResidentRecord,
    erasure,
    fold_record,
    resident_stream_id,
)
from services.dispatch.service_layer.append import Answer, Stream, append_decided
from services.dispatch.service_layer.context import CommandContext, Effect
from services.dispatch.service_layer.ports import EventStore
from services.dispatch.service_layer.resident_orders import ResidentOrders
from services.dispatch.service_layer.roles import require_privacy_officer
from shared.errors import NotFound
from shared.events.catalogue import parse
from shared.events.recorded import RecordedEvent
from shared.events.resident import ErasureReason, ResidentErased
from shared.logging import get_logger
from shared.privacy.fields import PersonalFields
from shared.privacy.pseudonym import is_resident_reference

log = get_logger(__name__)

RETENTION_ACTOR = "retention"
"""Who erases residents whose retention period ended (`erased_by`, the event's actor)."""


@dataclass(frozen=True, slots=True)
class ResidentData:
    """What reads and changes a resident's data: the event store (their stream, their
    orders' histories), the residents' index and their sealed fields."""

    store: EventStore
    orders: ResidentOrders
    fields: PersonalFields


@dataclass(frozen=True, slots=True)
class ResidentHistory:
    """A resident's stream as stored, and its fold."""

    events: list[RecordedEvent]
    record: ResidentRecord

    @property
    def project(self) -> str | None:
        """The project of the stream's latest event."""
        return self.events[-1].project if self.events else None


def require_reference(resident: str) -> None:
    """Refuse (`unknown_resident`, 404) what is not a resident reference at all."""
    if not is_resident_reference(resident):
        raise NotFound(f"no resident {resident[:40]!r}", code="unknown_resident")


async def resident_history(store: EventStore, tenant: str, resident: str) -> ResidentHistory:
    """The resident's stream of erasures and corrections in `tenant`, folded (empty for
    another tenant's resident: references are per tenant, their streams too)."""
    events = await store.load(resident_stream_id(resident))
    if events and events[0].tenant != tenant:
        events = []
    return ResidentHistory(events, fold_record(parse(e.type_name, e.data) for e in events))


async def erase_resident(
    data: ResidentData,
    ctx: CommandContext,
    resident: str,
    reason: ErasureReason,
    case: str | None = None,
) -> dict[str, Any]:
    """Erase `resident` of the caller's tenant; the erasure's body (the first one's again
    on a repeat). Privacy officers only (retention acts as one); a reference never seen
    in the tenant is `unknown_resident`."""
    require_privacy_officer(ctx.principal, "erase a resident's personal data")
    require_reference(resident)
    tenant = ctx.principal.tenant
    history = await resident_history(data.store, tenant, resident)
    found = await data.orders.orders_of(tenant, resident)
    if not found and not history.events:
        raise NotFound(f"no resident {resident!r} in this tenant", code="unknown_resident")
    # The key first: from here on nothing of theirs can be read, whatever fails next.
    destroyed = await data.fields.erase(tenant, resident)
    orders = tuple((o.work_order_id, o.project) for o in found)
    decided = erasure(
        history.record, resident, orders, destroyed, ctx.principal.subject, reason, case
    )
    if decided is None:
        earlier = history.record.erased
        assert earlier is not None  # `erasure` replays only an erasure there was
        await data.orders.forget(tenant, resident)  # an interrupted erasure's last step
        return erasure_body(earlier, history.events[-1].version, _erased_at(history))
    project = found[0].project if found else history.project
    assert project is not None  # found orders, or a stream, or NotFound above
    stream = Stream(resident_stream_id(resident), tenant, project, history.record.version)
    answer = Answer(Effect.APPLIED, erasure_body(decided, None, ctx.now), "")
    outcome = await append_decided(data.store, stream, [decided], ctx, answer)
    forgotten = await data.orders.forget(tenant, resident)
    log.info(
        "resident.erased",
        tenant=tenant,
        resident=resident,
        reason=reason.value,
        work_orders=len(orders),
        keys_destroyed=destroyed,
        index_rows=forgotten,
    )
    return outcome.body


def erasure_body(
    erased: ResidentErased, version: int | None, erased_at: datetime | None
) -> dict[str, Any]:
    """The answer to an erasure: the event's facts, when it happened."""
    body: dict[str, Any] = {**erased.model_dump(mode="json"), "erased": True}
    body["erased_at"] = erased_at.isoformat() if erased_at is not None else None
    if version is not None:
        body["version"] = version
    return body


def _erased_at(history: ResidentHistory) -> datetime | None:
    erasures = [e for e in history.events if e.type_name == ResidentErased.type_name]
    return erasures[-1].occurred_at if erasures else None
