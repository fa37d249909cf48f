"""Everything held about a resident, for their access and portability requests (查阅复制权,
PIPL Art. 45): their contact details, their orders with what was recorded of them, the
corrections of their data and the messages sent to them.

A privacy officer asks on the resident's behalf; each order shown in clear is written to
the access log first. The messages come from notify: when it cannot answer, no export is
given at all (`notify_unavailable`): a partial export would look complete.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.dispatch.domain.workorder import ERASED, PERSONAL_FIELDS, fold
from services.dispatch.service_layer.access_log import (
    AccessLog,
    Disclosure,
    entry,
    record_or_refuse,
)
from services.dispatch.service_layer.personal_data import open_report
from services.dispatch.service_layer.ports import EventStore
from services.dispatch.service_layer.resident_contacts import contact_from
from services.dispatch.service_layer.resident_erasure import (
    ResidentData,
    require_reference,
    resident_history,
)
from services.dispatch.service_layer.roles import require_privacy_officer
from shared.events.catalogue import parse
from shared.events.recorded import RecordedEvent
from shared.events.resident import ResidentCorrected, ResidentErased
from shared.events.workorder import FeedbackGiven, FollowUpRecorded, WorkOrderReported
from shared.privacy.fields import Erased


class ResidentMessages(Protocol):
    """The messages notify sent to a resident (`GET /v1/residents/{ref}/deliveries`)."""

    async def sent_to(self, resident: str, token: str) -> list[dict[str, Any]]:
        """Notify's deliveries to `resident`, asked with the caller's `token`; raises
        `Unavailable` (`notify_unavailable`) when notify does not answer them."""
        ...


async def export_personal_data(
    data: ResidentData,
    access_log: AccessLog,
    messages: ResidentMessages,
    disclosure: Disclosure,
    resident: str,
    token: str,
) -> dict[str, Any]:
    """The body of `GET /v1/residents/{resident}/personal-data` (privacy officers only)."""
    principal = disclosure.principal
    require_privacy_officer(principal, "export a resident's personal data")
    tenant = principal.tenant
    require_reference(resident)
    history = await resident_history(data.store, tenant, resident)
    found = await data.orders.orders_of(tenant, resident)
    contact = await contact_from(data, tenant, resident, history, found)
    erasures = [e for e in history.events if e.type_name == _ERASED]
    # Orders of earlier erasures too: a resident erased who reported again has both.
    order_ids = dict.fromkeys(
        [o.work_order_id for o in found]
        + [str(o) for e in reversed(erasures) for o in e.data.get("work_orders", [])]
    )
    orders = [await _order(data.store, data, tenant, wid) for wid in order_ids]
    corrections = [await _correction(data, tenant, e) for e in history.events]
    sent = await messages.sent_to(resident, token)
    await record_or_refuse(
        access_log,
        [
            entry(disclosure, o["id"], resident, PERSONAL_FIELDS)
            for o, erased in orders
            if not erased
        ],
    )
    return {
        "resident": resident,
        "contact": contact.as_dict(),
        "erasures": [_erasure(e) for e in erasures],
        "orders": [order for order, _ in orders],
        "corrections": [c for c in corrections if c is not None],
        "messages": sent,
    }


_ERASED = ResidentErased.type_name


def _erasure(event: RecordedEvent) -> dict[str, Any]:
    return {**event.data, "erased_at": event.occurred_at.isoformat()}


async def _order(
    store: EventStore, data: ResidentData, tenant: str, work_order_id: str
) -> tuple[dict[str, Any], bool]:
    """The order as exported, and whether its reporter's data was erased."""
    events = await store.load(work_order_id)
    state = fold((parse(e.type_name, e.data), e.occurred_at) for e in events)
    reported = next(e for e in events if e.type_name == WorkOrderReported.type_name)
    opened, erased = await open_report(reported.data, tenant, data.fields)
    body = {
        "id": work_order_id,
        "number": opened.get("number"),
        "project": reported.project,
        "kind": opened.get("kind"),
        "category": opened.get("category"),
        "status": state.status.value if state is not None else None,
        "reported_at": (opened.get("received_at") or reported.occurred_at.isoformat()),
        "channel": opened.get("channel"),
        "reporter": opened.get("reporter"),
        "location": opened.get("location"),
        "description": opened.get("description"),
        "feedback": [
            {"message": e.data.get("message"), "at": e.occurred_at.isoformat()}
            for e in events
            if e.type_name == FeedbackGiven.type_name
        ],
        "follow_ups": [
            {
                "rating": e.data.get("rating"),
                "comment": e.data.get("comment"),
                "at": e.occurred_at.isoformat(),
            }
            for e in events
            if e.type_name == FollowUpRecorded.type_name
        ],
    }
    return body, bool(erased)


async def _correction(
    data: ResidentData, tenant: str, event: RecordedEvent
) -> dict[str, Any] | None:
    if event.type_name != ResidentCorrected.type_name:
        return None
    corrected = ResidentCorrected.model_validate(event.data)
    values: dict[str, str | None] = {}
    for key, token in corrected.sealed.items():
        value = await data.fields.open(tenant, corrected.resident, f"reporter.{key}", token)
        values[key] = ERASED if isinstance(value, Erased) else value
    return {
        "fields": list(corrected.fields),
        **values,
        "corrected_by": corrected.corrected_by,
        "corrected_at": event.occurred_at.isoformat(),
    }
