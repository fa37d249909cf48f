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


@dataclass(frozen=True, slots=True)
class PersonalField:
    """One personal field of a report: where it is, what its mask is."""

    name: str
    """As the access log and the sealing name it (`reporter.phone`)."""
    section: str
    key: str
    mask: Callable[[str], str]


FIELDS: tuple[PersonalField, ...] = (
    PersonalField("reporter.name", "reporter", "name", mask_name),
    PersonalField("reporter.phone", "reporter", "phone", mask_phone),
    PersonalField("location.unit", "location", "unit", mask_address),
    PersonalField("location.detail", "location", "detail", mask_address),
)
"""`PERSONAL_FIELDS` with their places and masks, in the same order."""

SEALED = "sealed"
"""The key under `reporter` and `location` holding their fields as tokens (`pd1...`)."""

RESIDENT = "resident"
"""The key under `reporter` holding the pseudonymous reference (`rsd_...`)."""

ERASED = "erased"
"""What an erased resident's field shows where its clear value was (the key is destroyed)."""


def masked(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a representation holding `reporter` and `location` (a work order, or a
    `workorder.reported` event's data) with their personal fields masked and their
    sealed tokens left out (nobody reading masks needs them)."""
    out = dict(body)
    for section in ("reporter", "location"):
        part = out.get(section)
        if isinstance(part, dict):
            shown = {k: v for k, v in part.items() if k != SEALED}
            for field in FIELDS:
                if field.section == section:
                    shown[field.key] = _masked(part.get(field.key), field.mask)
            out[section] = shown
    return out


def unsealed(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a representation without its sealed tokens (what an answer shows)."""
    out = dict(body)
    for section in ("reporter", "location"):
        part = out.get(section)
        if isinstance(part, dict) and SEALED in part:
            out[section] = {k: v for k, v in part.items() if k != SEALED}
    return out


def is_sealed(body: dict[str, Any]) -> bool:
    """Whether a report's data (or a work order's representation) is in the sealed shape:
    its reporter named by a reference. Events recorded before sealing hold clear values."""
    reporter = body.get("reporter")
    return isinstance(reporter, dict) and isinstance(reporter.get(RESIDENT), str)


def sealed_tokens(body: dict[str, Any]) -> dict[str, str]:
    """The tokens a sealed representation holds, by field name (`reporter.phone`)."""
    tokens: dict[str, str] = {}
    for field in FIELDS:
        part = body.get(field.section)
        sealed = part.get(SEALED) if isinstance(part, dict) else None
        token = sealed.get(field.key) if isinstance(sealed, dict) else None
        if isinstance(token, str):
            tokens[field.name] = token
    return tokens


def clear_values(body: dict[str, Any]) -> dict[str, str]:
    """The non-empty personal values a representation holds, by field name: what sealing
    a report in clear seals (masks, on a sealed one)."""
    values: dict[str, str] = {}
    for field in FIELDS:
        part = body.get(field.section)
        value = part.get(field.key) if isinstance(part, dict) else None
        if isinstance(value, str) and value:
            values[field.name] = value
    return values


def with_values(body: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
    """A copy of `body` with the named fields set (a field's section must exist)."""
    out = dict(body)
    for field in FIELDS:
        if field.name in values and isinstance(out.get(field.section), dict):
            out[field.section] = {**out[field.section], field.key: values[field.name]}
    return out


def shown_fields(body: dict[str, Any]) -> tuple[str, ...]:
    """The personal fields a representation holds a value in (what a clear view shows)."""
    values = clear_values(body)
    return tuple(name for name in PERSONAL_FIELDS if name in values)


def _masked(value: Any, mask: Callable[[str], str]) -> Any:
    return mask(value) if isinstance(value, str) else value
