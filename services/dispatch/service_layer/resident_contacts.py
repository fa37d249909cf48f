"""A resident's contact details as they are now, and their correction (更正权, PIPL Art. 46).

notify keeps no resident's phone: when an SMS to a resident is due it asks dispatch for
the contact (`resident_contact`, as its service identity, role `notifier`) and uses it
for that send only; customer service and supervisors may ask too. Every answer is
written to the access log first: no contact leaves unlogged.

The contact is what the resident's latest report gave (or the report of the order asked
about), unless corrected since: the latest correction wins for the fields it corrected.
A correction seals the new values under the resident's key and records who made it
(`resident.corrected`, masks in clear); it changes no report: the history stays what was
reported, and later messages and contact lookups use the correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.dispatch.domain.privacy import is_erased, resident_stream_id
from services.dispatch.service_layer.access_log import (
    AccessLog,
    Disclosure,
    entry,
    record_or_refuse,
)
from services.dispatch.service_layer.append import Answer, Stream, append_decided
from services.dispatch.service_layer.context import CommandContext, Effect
from services.dispatch.service_layer.personal_data import open_report
from services.dispatch.service_layer.resident_erasure import (
    ResidentData,
    ResidentHistory,
    require_reference,
    resident_history,
)
from services.dispatch.service_layer.resident_orders import ResidentOrder
from services.dispatch.service_layer.roles import require_role
from shared.auth import Principal, Role
from shared.errors import Gone, InvalidInput, NotFound
from shared.events.resident import ResidentCorrected
from shared.events.workorder import WorkOrderReported
from shared.phones import normalise_phone
from shared.privacy.fields import Erased
from shared.privacy.masking import mask_name, mask_phone

MAY_CORRECT = frozenset({Role.CUSTOMER_SERVICE, Role.SUPERVISOR, Role.PRIVACY_OFFICER})
"""Who takes a resident's request to correct their data: customer service and
supervisors (of a project the resident has orders in), the privacy officer."""

CORRECTABLE = {"name": "reporter.name", "phone": "reporter.phone"}
"""The fields a correction may change, by their key in the body and in `sealed`."""


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach a resident now; every value None when they were erased."""

    resident: str
    work_order_id: str | None
    name: str | None
    phone: str | None
    unit: str | None
    detail: str | None
    erased: bool

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the contact."""
        return {
            "resident": self.resident,
            "work_order": self.work_order_id,
            "name": self.name,
            "phone": self.phone,
            "unit": self.unit,
            "detail": self.detail,
            "erased": self.erased,
        }


def _erased(resident: str) -> Contact:
    return Contact(resident, None, None, None, None, None, erased=True)


async def current_contact(
    data: ResidentData, tenant: str, resident: str, work_order: str | None = None
) -> Contact:
    """The resident's contact details now, in clear: their latest report's (or that of
    `work_order`, one of theirs), the latest correction's name and phone over them; an
    erased resident's read `erased`. Nothing is logged here: the caller logs the view.

    Raises `NotFound` (`unknown_resident`) for a reference with no order and no record in
    `tenant`, (`unknown_work_order`) for a `work_order` that is not theirs.
    """
    require_reference(resident)
    history = await resident_history(data.store, tenant, resident)
    orders = await data.orders.orders_of(tenant, resident)
    return await contact_from(data, tenant, resident, history, orders, work_order)


async def contact_from(
    data: ResidentData,
    tenant: str,
    resident: str,
    history: ResidentHistory,
    orders: list[ResidentOrder],
    work_order: str | None = None,
) -> Contact:
    """`current_contact` from the resident's history and orders the caller has read."""
    if is_erased(history.record, (o.work_order_id for o in orders)):
        return _erased(resident)
    if not orders:
        raise NotFound(f"no resident {resident!r} in this tenant", code="unknown_resident")
    order = _chosen(orders, work_order)
    reported = await _report_of(data, order.work_order_id)
    opened, erased = await open_report(reported, tenant, data.fields)
    if erased:
        return _erased(resident)
    reporter, location = opened.get("reporter") or {}, opened.get("location") or {}
    values = {"name": reporter.get("name"), "phone": reporter.get("phone")}
    corrected = history.record.corrected
    for key, token in (corrected.sealed if corrected is not None else {}).items():
        value = await data.fields.open(tenant, resident, CORRECTABLE[key], token)
        if isinstance(value, Erased):
            return _erased(resident)
        values[key] = value
    return Contact(
        resident,
        order.work_order_id,
        values["name"],
        values["phone"],
        location.get("unit"),
        location.get("detail"),
        erased=False,
    )


async def correct_contact(
    data: ResidentData,
    ctx: CommandContext,
    resident: str,
    name: str | None,
    phone: str | None,
) -> dict[str, Any]:
    """Correct the resident's name and/or phone; the correction as recorded (masks).

    Customer service and supervisors of a project the resident reported in, and privacy
    officers (`role_not_allowed` for others); an erased resident is `resident_erased`
    (`Gone`); a phone that is not one `invalid_phone`.
    """
    principal = ctx.principal
    require_role(principal, MAY_CORRECT, "correct a resident's data")
    require_reference(resident)
    tenant = principal.tenant
    history = await resident_history(data.store, tenant, resident)
    orders = await data.orders.orders_of(tenant, resident)
    if is_erased(history.record, (o.work_order_id for o in orders)):
        # Sealing now would give the erased resident a new key: nothing of theirs is kept.
        raise Gone(f"resident {resident!r} was erased", code="resident_erased")
    if not _may_see(principal, orders):
        raise NotFound(f"no resident {resident!r} in this tenant", code="unknown_resident")
    if phone is not None:
        normalise_phone(phone)  # refuses what is no phone number (invalid_phone)
    given = {key: value for key, value in (("name", name), ("phone", phone)) if value}
    if not given:
        raise InvalidInput("give the corrected `name`, `phone` or both", code="nothing_to_correct")
    sealed = {
        key: await data.fields.seal(tenant, resident, CORRECTABLE[key], value)
        for key, value in given.items()
    }
    decided = ResidentCorrected(
        resident=resident,
        fields=tuple(CORRECTABLE[key] for key in given),
        name=mask_name(given["name"]) if "name" in given else None,
        phone=mask_phone(given["phone"]) if "phone" in given else None,
        sealed=sealed,
        corrected_by=principal.subject,
    )
    stream = Stream(resident_stream_id(resident), tenant, orders[0].project, history.record.version)
    body = {
        **decided.model_dump(mode="json", exclude={"sealed"}),
        "corrected_at": ctx.now.isoformat(),
    }
    outcome = await append_decided(
        data.store, stream, [decided], ctx, Answer(Effect.APPLIED, body, "")
    )
    return outcome.body


def _may_see(principal: Principal, orders: list[ResidentOrder]) -> bool:
    if principal.role is Role.PRIVACY_OFFICER:
        return bool(orders)
    return any(principal.can_access(principal.tenant, o.project) for o in orders)


def _chosen(orders: list[ResidentOrder], work_order: str | None) -> ResidentOrder:
    if work_order is None:
        return orders[0]
    for order in orders:
        if order.work_order_id == work_order:
            return order
    raise NotFound(
        f"work order {work_order!r} is not one this resident reported",
        code="unknown_work_order",
    )


async def _report_of(data: ResidentData, work_order_id: str) -> dict[str, Any]:
    events = await data.store.load(work_order_id)
    for event in events:
        if event.type_name == WorkOrderReported.type_name:
            return event.data
    raise LookupError(f"work order {work_order_id} has no report")  # an index out of step


NOTIFICATION = "notification"
"""The purpose logged when notify reads a contact to send a message."""

MAY_READ_CONTACTS = frozenset({Role.NOTIFIER, Role.CUSTOMER_SERVICE, Role.SUPERVISOR})
"""notify sends the messages (at send time, as its service identity); customer service
and supervisors call residents back."""


async def resident_contact(
    data: ResidentData,
    access_log: AccessLog,
    disclosure: Disclosure,
    resident: str,
    work_order_id: str,
) -> dict[str, Any]:
    """A resident's contact now (`current_contact`) as its caller is answered, written to
    the access log first: notify reads it at send time and keeps nothing of it.

    Raises `Forbidden` (`role_not_allowed`) for a role that may not read contacts,
    `NotFound` (`unknown_resident`) when `work_order_id` is not an order of that resident
    in the caller's tenant (or, for staff, in a project of theirs), `Gone`
    (`resident_erased`) for an erased resident, `Unavailable` when the access log cannot
    be written.
    """
    principal = disclosure.principal
    require_role(principal, MAY_READ_CONTACTS, "read residents' contacts")
    require_reference(resident)
    orders = await data.orders.orders_of(principal.tenant, resident)
    # The order proves whom the reference names; the contact is the latest one: a
    # resident who moved or corrected their phone is reached where they are now.
    if not any(order.work_order_id == work_order_id for order in orders):
        raise unknown_resident(resident)
    staff = principal.role is not Role.NOTIFIER
    if staff and not _may_see(principal, orders):
        raise unknown_resident(resident)
    history = await resident_history(data.store, principal.tenant, resident)
    found = await contact_from(data, principal.tenant, resident, history, orders)
    if found.erased:
        raise Gone(f"resident {resident!r} was erased", code="resident_erased")
    purpose = disclosure.purpose if staff else NOTIFICATION
    logged = Disclosure(principal, purpose, disclosure.at)
    fields = _shown_fields(found)
    await record_or_refuse(access_log, [entry(logged, found.work_order_id, resident, fields)])
    body = found.as_dict()
    del body["work_order"]
    return body


def _shown_fields(found: Contact) -> tuple[str, ...]:
    """The personal fields the contact holds a value in, as the access log names them."""
    values = {
        "reporter.name": found.name,
        "reporter.phone": found.phone,
        "location.unit": found.unit,
        "location.detail": found.detail,
    }
    return tuple(name for name, value in values.items() if value)


def unknown_resident(resident: str) -> NotFound:
    """The answer for a resident the caller may not know of (unknown or elsewhere)."""
    return NotFound(f"no resident {resident!r} with that work order", code="unknown_resident")
