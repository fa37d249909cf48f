"""A resident's contact (联系方式) for whoever must reach them now: notify at send time.

notify keeps no resident's phone: when an SMS to a resident is due it asks dispatch for
the contact, as its service identity (role `notifier`), and uses it for that send only.
Customer service and supervisors may ask too, for a project they work in. Every answer
is written to the access log first (`record_or_refuse`): no contact leaves unlogged.

The contact comes from the resident's latest order (`ResidentContacts`, a port: today over
the clear values of the work-order listing, later over sealed tokens opened with the
resident's data key). An erased resident's contact is gone for good: `ResidentErased`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.dispatch.service_layer.access_log import (
    AccessLog,
    Disclosure,
    entry,
    record_or_refuse,
)
from shared.auth import Role
from shared.errors import Forbidden, Gone, NotFound

NOTIFICATION = "notification"
"""The purpose logged when notify reads a contact to send a message."""

MAY_READ_CONTACTS = frozenset({Role.NOTIFIER, Role.CUSTOMER_SERVICE, Role.SUPERVISOR})
"""notify sends the messages; customer service and supervisors call residents back."""


@dataclass(frozen=True, slots=True)
class ResidentContact:
    """How to reach a resident, in clear: from their latest order."""

    resident: str
    """Their pseudonymous reference (`rsd_...`)."""
    name: str
    phone: str | None
    unit: str | None
    detail: str | None
    work_order_id: str
    """The order the values were read from (their latest)."""
    project: str
    """That order's project."""
    projects: frozenset[str]
    """Every project the resident has orders in that the lookup saw."""

    def shown_fields(self) -> tuple[str, ...]:
        """The personal fields this contact holds a value in, as the access log names them."""
        values = {
            "reporter.name": self.name,
            "reporter.phone": self.phone,
            "location.unit": self.unit,
            "location.detail": self.detail,
        }
        return tuple(name for name, value in values.items() if value)


class ResidentErased(Gone):
    """The resident's data key was destroyed: their contact cannot be read any more."""

    code = "resident_erased"


class ResidentContacts(Protocol):
    """Where a resident's contact is read from (`adapters.resident_contacts`)."""

    async def contact(self, tenant: str, resident: str, work_order_id: str) -> ResidentContact:
        """The contact of `resident`, who reported `work_order_id` in `tenant`, from their
        latest order. Raises `NotFound` when that order is unknown or not theirs,
        `ResidentErased` when their key was destroyed."""
        ...


async def resident_contact(
    contacts: ResidentContacts,
    access_log: AccessLog,
    disclosure: Disclosure,
    resident: str,
    work_order_id: str,
) -> dict[str, Any]:
    """A resident's contact as its caller is answered, written to the access log first.

    Raises `Forbidden` (`role_not_allowed`) for a role that may not read contacts,
    `NotFound` (`unknown_resident`) for a resident unknown in the caller's tenant or
    projects, `ResidentErased` for an erased one, `Unavailable` when the access
    log cannot be written.
    """
    principal = disclosure.principal
    if principal.role not in MAY_READ_CONTACTS:
        raise Forbidden(
            f"a {principal.role.value} may not read residents' contacts",
            code="role_not_allowed",
            role=principal.role.value,
        )
    found = await contacts.contact(principal.tenant, resident, work_order_id)
    staff = principal.role is not Role.NOTIFIER
    if staff and not any(principal.can_access(principal.tenant, p) for p in found.projects):
        raise unknown_resident(resident)
    purpose = disclosure.purpose if staff else NOTIFICATION
    logged = Disclosure(principal, purpose, disclosure.at)
    fields = found.shown_fields()
    await record_or_refuse(access_log, [entry(logged, found.work_order_id, resident, fields)])
    return {
        "resident": resident,
        "name": found.name,
        "phone": found.phone,
        "unit": found.unit,
        "detail": found.detail,
        "erased": False,
    }


def unknown_resident(resident: str) -> NotFound:
    """The answer for a resident the caller may not know of (unknown or elsewhere)."""
    return NotFound(f"no resident {resident!r} with that work order", code="unknown_resident")
