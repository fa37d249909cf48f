"""`ResidentContacts` over the work-order listing: a resident's contact from their latest order.

The named order proves who the resident is (its reporter's reference must be the one
asked for); their other orders are found through the phone's blind index or their login,
newest first, and the newest whose reporter is the same resident gives the contact (a
resident who moved reports from the new unit).

The listing's `summary` holds the reporter's values in clear today. `_clear_contact` is
the one place that reads them: once reports are sealed it opens the tokens of
`reporter.sealed`/`location.sealed` with the resident's data key instead (the reference
is then `reporter.resident`, already read first here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.residents import phone_index
from services.dispatch.service_layer.resident_contacts import (
    ResidentContact,
    ResidentErased,
    unknown_resident,
)
from shared.privacy.keyring import KeyRing
from shared.privacy.pseudonym import reporter_reference

ORDERS_LOOKED_AT = 50
"""The resident's newest orders the latest contact is looked for among."""


class ListedResidentContacts:
    """Implements `service_layer.resident_contacts.ResidentContacts`."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: KeyRing,
        *,
        reference_key: bytes,
        index_key: bytes,
        catch_up: Callable[[], Awaitable[object]],
    ) -> None:
        """`catch_up` brings the phones' blind index up to the latest report first."""
        self._engine = engine
        self._catch_up = catch_up
        self._keys = keys
        self._reference_key = reference_key
        self._index_key = index_key

    async def contact(self, tenant: str, resident: str, work_order_id: str) -> ResidentContact:
        """The contact of `resident` from their latest order (see the module)."""
        await self._catch_up()
        w = t.work_orders.c
        named = select(w.id, w.project, w.summary).where(w.tenant == tenant, w.id == work_order_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(named)).first()
            if row is None or self._reference(tenant, row.id, row.summary) != resident:
                raise unknown_resident(resident)
            if await self._keys.is_destroyed(tenant, resident):
                raise ResidentErased(
                    f"resident {resident!r} was erased: their contact is gone",
                    resident=resident,
                )
            rows = (await conn.execute(self._orders_of(tenant, row.summary))).all()
        theirs = [r for r in rows if self._reference(tenant, r.id, r.summary) == resident]
        latest = theirs[0] if theirs else row
        name, phone, unit, detail = _clear_contact(latest.summary)
        return ResidentContact(
            resident=resident,
            name=name,
            phone=phone,
            unit=unit,
            detail=detail,
            work_order_id=latest.id,
            project=latest.project,
            projects=frozenset({row.project, *(r.project for r in theirs)}),
        )

    def _reference(self, tenant: str, work_order_id: str, summary: dict[str, Any]) -> str:
        reporter = summary.get("reporter") or {}
        carried = reporter.get("resident")
        if isinstance(carried, str):
            return carried
        # Orders reported before references: derived as dispatch derives it on a report.
        return reporter_reference(
            self._reference_key,
            tenant,
            phone=reporter.get("phone"),
            resident_id=reporter.get("resident_id"),
            work_order_id=work_order_id,
        )

    def _orders_of(self, tenant: str, summary: dict[str, Any]) -> Any:
        """The newest orders of whoever reported `summary`: by phone or by login."""
        w, r = t.work_orders.c, t.resident_reports.c
        reporter = summary.get("reporter") or {}
        same: list[Any] = []
        indexed = phone_index(self._index_key, reporter.get("phone"))
        if indexed is not None:
            same.append(
                w.id.in_(
                    select(r.work_order_id).where(r.tenant == tenant, r.phone_index == indexed)
                )
            )
        if reporter.get("resident_id"):
            same.append(w.reporter_resident_id == reporter["resident_id"])
        condition = or_(*same) if same else w.id.is_(None)
        return (
            select(w.id, w.project, w.summary)
            .where(w.tenant == tenant, condition)
            .order_by(w.reported_at.desc(), w.id.desc())
            .limit(ORDERS_LOOKED_AT)
        )


def _clear_contact(summary: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """Name, phone, unit and detail of an order's reporter, in clear."""
    reporter = summary.get("reporter") or {}
    location = summary.get("location") or {}
    return (
        str(reporter.get("name") or ""),
        reporter.get("phone"),
        location.get("unit"),
        location.get("detail"),
    )
