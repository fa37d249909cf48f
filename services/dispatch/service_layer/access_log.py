"""The access log of residents' personal data: every clear view, who, whose, which, why.

Each answer that shows a resident's name, phone or unit in clear to someone other than
that resident is written here before it is sent; a view that cannot be written is not
answered (`access_log_unavailable`, 503). A privacy officer reads the log
(`GET /v1/privacy/access-log`); entries older than the retention period are pruned.

The SQL table (`adapters.access_log`) and an in-memory log (`adapters.memory_access_log`)
implement `AccessLog` and pass one contract suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.dispatch.domain.workorder import (
    RESIDENT,
    Sight,
    View,
    facts_of,
    masked,
    shown_fields,
    sight,
)
from services.dispatch.service_layer.personal_data import open_report
from services.dispatch.service_layer.roles import require_privacy_officer
from shared.auth import Principal
from shared.errors import InvalidInput, Unavailable
from shared.inputs import parse_int64
from shared.logging import get_logger
from shared.privacy.fields import PersonalFields

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One clear view of one resident's data."""

    tenant: str
    at: datetime
    subject: str
    """Who saw it: the token's subject."""
    role: str
    resident: str | None
    """The resident's pseudonymous reference (`rsd_...`); for an order reported before
    references, their login (`reporter.resident_id`) or None for a caller who reported by
    phone: `work_order_id` then names whose data it was."""
    work_order_id: str | None
    fields: tuple[str, ...]
    purpose: str
    """Why: the API call (`GET /v1/work-orders/{work_order_id}`)."""


@dataclass(frozen=True, slots=True)
class LoggedAccess(AccessEntry):
    """An entry as stored, with its position in the log."""

    id: int = 0


@dataclass(frozen=True, slots=True)
class AccessQuery:
    """Which entries of a tenant to read, newest first, after `before_id` (a page's end)."""

    tenant: str
    resident: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None


class AccessLog(Protocol):
    """Where clear views of personal data are accounted for."""

    async def record(self, entries: Sequence[AccessEntry]) -> None:
        """Write `entries` durably, all or none, before the view is answered."""
        ...

    async def read(self, query: AccessQuery, limit: int) -> list[LoggedAccess]:
        """Up to `limit` entries matching `query`, newest first (`since` inclusive,
        `until` exclusive)."""
        ...

    async def prune(self, older_than: datetime, limit: int) -> int:
        """Delete up to `limit` entries written before `older_than`, oldest first; how many."""
        ...

    async def close(self) -> None:
        """Release what the log holds (its writer) at the service's stop."""
        ...


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One answer about to be sent: who asks, through which call, at what time."""

    principal: Principal
    purpose: str
    at: datetime


async def disclose(
    access_log: AccessLog,
    fields: PersonalFields,
    disclosure: Disclosure,
    view: View,
    bodies: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The work-order representations as `disclosure`'s caller may see them: masked where
    their role does not need the clear data, clear elsewhere (the sealed fields opened
    through `fields`), each clear one logged first. No answer carries the sealed tokens.

    Raises `Unavailable` (`access_log_unavailable`) when the log cannot be written: no
    clear value is answered unlogged.
    """
    shown: list[dict[str, Any]] = []
    entries: list[AccessEntry] = []
    for body in bodies:
        answer, logged = await _disclosed(fields, disclosure, view, body)
        shown.append(answer)
        entries.extend(logged)
    await record_or_refuse(access_log, entries)
    return shown


async def disclose_history(
    access_log: AccessLog,
    fields: PersonalFields,
    disclosure: Disclosure,
    order: dict[str, Any],
    items: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """A work order's events (CloudEvents as JSON) as the caller may see them: the
    reporter's data in the events masked unless the caller may see `order`'s in clear
    (then the report's sealed fields opened), the view logged once as the order's."""
    seen = _sight_of(disclosure, View.ORDER, order)
    [_] = await disclose(access_log, fields, disclosure, View.ORDER, [order])
    if seen is Sight.MASKED:
        return [{**item, "data": masked(item.get("data") or {})} for item in items]
    tenant = disclosure.principal.tenant
    shown = []
    for item in items:
        data, _erased = await open_report(item.get("data") or {}, tenant, fields)
        shown.append({**item, "data": data})
    return shown


def _sight_of(disclosure: Disclosure, view: View, body: dict[str, Any]) -> Sight:
    principal = disclosure.principal
    return sight(principal.role, principal.subject, view, facts_of(body), principal.scopes)


async def _disclosed(
    fields: PersonalFields, disclosure: Disclosure, view: View, body: dict[str, Any]
) -> tuple[dict[str, Any], list[AccessEntry]]:
    """One representation as the caller may see it, and the entry its clear view needs."""
    seen = _sight_of(disclosure, view, body)
    if seen is Sight.MASKED:
        return masked(body), []
    opened, erased = await open_report(body, disclosure.principal.tenant, fields)
    shown = tuple(name for name in shown_fields(opened) if name not in erased)
    if seen is not Sight.CLEAR or not shown:
        return opened, []
    order_id = body.get("id")
    order_ref = order_id if isinstance(order_id, str) else None
    return opened, [entry(disclosure, order_ref, resident_of(body), shown)]


def resident_of(body: dict[str, Any]) -> str | None:
    """Whose data a representation holds, as the access log names them: the reporter's
    reference, or for an order reported before references their app login."""
    reporter = body.get("reporter") or {}
    reference = reporter.get(RESIDENT)
    return reference if isinstance(reference, str) else facts_of(body).resident_id


async def record_or_refuse(access_log: AccessLog, entries: Sequence[AccessEntry]) -> None:
    """Write `entries`, or refuse the answer they account for (`Unavailable`)."""
    if not entries:
        return
    try:
        await access_log.record(entries)
    except Exception as exc:  # any failure of the store means the view goes unlogged
        log.error("access_log_write_failed", error=type(exc).__name__, entries=len(entries))
        raise Unavailable(
            "personal data cannot be shown right now: its access log cannot be written",
            code="access_log_unavailable",
        ) from None


def entry(
    disclosure: Disclosure,
    work_order_id: str | None,
    resident: str | None,
    fields: tuple[str, ...],
) -> AccessEntry:
    """The log entry of one clear view in `disclosure`."""
    principal = disclosure.principal
    return AccessEntry(
        tenant=principal.tenant,
        at=disclosure.at,
        subject=principal.subject,
        role=principal.role.value,
        resident=resident,
        work_order_id=work_order_id,
        fields=fields,
        purpose=disclosure.purpose,
    )


RESIDENT_FIELDS: tuple[str, ...] = ("reporter.name", "location.unit")
"""What a resident search shows of each resident found (the phone is the caller's own
search term, not a disclosure)."""


async def disclose_residents(
    access_log: AccessLog, disclosure: Disclosure, found: dict[str, Any]
) -> dict[str, Any]:
    """Log each resident a search answers in clear (only roles that need them may search),
    by their reference and their latest order."""
    entries = []
    for resident in found.get("items", []):
        orders = resident.get("recent_orders") or [{}]
        whose = resident.get("resident") or resident.get("resident_id")
        entries.append(entry(disclosure, orders[0].get("id"), whose, RESIDENT_FIELDS))
    await record_or_refuse(access_log, entries)
    return found


async def read_access_log(
    access_log: AccessLog,
    principal: Principal,
    query: AccessQuery,
    limit: int,
    cursor: str | None,
) -> tuple[list[LoggedAccess], str | None]:
    """A page of the caller's tenant's access log, newest first, and the next page's cursor.

    Privacy officers only (`role_not_allowed` for anyone else: the log says who looked at
    whom, itself personal data). A `cursor` not from a previous page is `invalid_cursor`,
    a `since` not before `until` is `invalid_range` (both 422).
    """
    require_privacy_officer(principal, "read the access log of personal data")
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise InvalidInput("`from` must be before `to`", code="invalid_range")
    before_id = None
    if cursor is not None:
        before_id = parse_int64(cursor)
        if before_id is None:
            raise InvalidInput("the cursor is not one this API returned", code="invalid_cursor")
    scoped = AccessQuery(
        tenant=principal.tenant,
        resident=query.resident,
        subject=query.subject,
        since=query.since,
        until=query.until,
        before_id=before_id,
    )
    page = await access_log.read(scoped, limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return page, str(page[-1].id) if more else None
