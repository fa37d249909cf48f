"""Which work orders a resident reported: the residents' index read by reference.

The index (`adapters.resident_index`) keeps one row per reported order with its
reporter's pseudonymous reference (`subject`); erasure forgets a resident's rows, and
retention asks which residents' orders have all ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ResidentOrder:
    """One work order a resident reported, as it is now."""

    work_order_id: str
    project: str
    status: str
    reported_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EndedResident:
    """A resident all of whose orders have ended, and when the latest ended."""

    tenant: str
    resident: str
    ended_at: datetime


class ResidentOrders(Protocol):
    """The residents' index, by resident reference."""

    async def orders_of(self, tenant: str, resident: str) -> list[ResidentOrder]:
        """The resident's indexed orders, newest report first."""
        ...

    async def forget(self, tenant: str, resident: str) -> int:
        """Delete the resident's rows from the index; how many."""
        ...

    async def ended(
        self, tenant: str | None, ended_before: datetime, limit: int
    ) -> list[EndedResident]:
        """Up to `limit` residents (of `tenant`, None: every tenant) whose indexed orders
        have all ended (`domain.privacy.ENDED_STATUSES`), the latest before
        `ended_before`; the longest ended first."""
        ...
