"""Who sees a work order's personal data (个人信息) in clear, and what the others see.

A work order holds its reporter's name and phone and the unit they live in. Under the
minimum-necessary rule (最小必要) a view shows them in clear only to someone whose job on
that view needs them; everyone else sees the masks of `shared.privacy.masking`. Each clear
view of someone else's data is written to the access log (`service_layer.access_log`);
a resident reading their own order is the data's subject, not an access to log.

The decision table is in docs/privacy.md ("Who sees what, view by view").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.auth import PERSONAL_DATA_SCOPE, Role
from shared.privacy.masking import mask_address, mask_name, mask_phone


class View(StrEnum):
    """The kinds of answer that can carry a reporter's data."""

    ORDER = "order"
    """One work order: its state, its history, a command's answer."""
    LISTING = "listing"
    """Many orders at once: the work-order list, the pending-dispatch queue."""


class Sight(StrEnum):
    """What a caller is shown of a work order's personal data."""

    OWN = "own"
    """In clear: the caller is the resident it is about (nothing to log)."""
    CLEAR = "clear"
    """In clear, and logged."""
    MASKED = "masked"
    """Masked: nothing clear is shown, nothing logged."""


PERSONAL_FIELDS: tuple[str, ...] = (
    "reporter.name",
    "reporter.phone",
    "location.unit",
    "location.detail",
)
"""The fields of a work order that identify its reporter, as the access log names them.
The building stays clear: many households share it, and dispatch goes by it."""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the decision needs of one order: who reported, owns and works on it."""

    resident_id: str | None
    owner: str | None
    assignee: str | None


_CLEAR_EVERY_ORDER: dict[View, frozenset[Role]] = {
    # Customer service and dispatchers take the calls and call back; supervisors handle
    # escalations and complaints: all need the phone of the one order they open.
    View.ORDER: frozenset({Role.CUSTOMER_SERVICE, Role.DISPATCHER, Role.SUPERVISOR}),
    # A list is triage: only supervisors, who chase overdue orders by phone, need every
    # row's number. Dispatchers dispatch by building and category, not by phone.
    View.LISTING: frozenset({Role.SUPERVISOR}),
}


def sight(
    role: Role,
    subject: str,
    view: View,
    order: OrderFacts,
    scopes: frozenset[str] = frozenset(),
) -> Sight:
    """What `subject` with `role` (granted `scopes`) may see of `order`'s personal data
    in `view`.

    A resident sees their own orders; a technician the orders assigned to them (not the
    ones merely offered, owned or tried); customer service in a list the calls it owns.
    Project managers, headquarters quality, integrators and privacy officers see masks:
    their work (KPIs, quality, integrations, audits) needs no resident's contact. An
    integrator granted the personal-data scope sees one order in clear (an integration
    that calls residents back); never a list: bulk export is what the grant is not for.
    """
    if role is Role.INTEGRATOR and PERSONAL_DATA_SCOPE in scopes:
        return Sight.CLEAR if view is View.ORDER else Sight.MASKED
    if role is Role.RESIDENT:
        return Sight.OWN if order.resident_id == subject else Sight.MASKED
    if role is Role.TECHNICIAN:
        return Sight.CLEAR if order.assignee == subject else Sight.MASKED
    if role in _CLEAR_EVERY_ORDER[view]:
        return Sight.CLEAR
    if role is Role.CUSTOMER_SERVICE and order.owner == subject:
        return Sight.CLEAR
    return Sight.MASKED


def facts_of(body: dict[str, Any]) -> OrderFacts:
    """The facts of an order's JSON representation (`WorkOrderState.summary`)."""
    reporter = body.get("reporter") or {}
    return OrderFacts(reporter.get("resident_id"), body.get("owner"), body.get("assignee"))


def masked(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a representation holding `reporter` and `location` (a work order, or a
    `workorder.reported` event's data) with their personal fields masked."""
    out = dict(body)
    reporter = out.get("reporter")
    if isinstance(reporter, dict):
        out["reporter"] = {
            **reporter,
            "name": _masked(reporter.get("name"), mask_name),
            "phone": _masked(reporter.get("phone"), mask_phone),
        }
    location = out.get("location")
    if isinstance(location, dict):
        out["location"] = {
            **location,
            "unit": _masked(location.get("unit"), mask_address),
            "detail": _masked(location.get("detail"), mask_address),
        }
    return out


def shown_fields(body: dict[str, Any]) -> tuple[str, ...]:
    """The personal fields a representation holds a value in (what a clear view shows)."""
    reporter = body.get("reporter") or {}
    location = body.get("location") or {}
    values = {
        "reporter.name": reporter.get("name"),
        "reporter.phone": reporter.get("phone"),
        "location.unit": location.get("unit"),
        "location.detail": location.get("detail"),
    }
    return tuple(name for name in PERSONAL_FIELDS if values[name])


def _masked(value: Any, mask: Callable[[str], str]) -> Any:
    return mask(value) if isinstance(value, str) else value
