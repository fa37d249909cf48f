"""When a resident's personal data is due for erasure: a set time after their orders ended.

PIPL (Art. 19, 47) keeps personal information no longer than its purpose needs. A
resident's data serves their work orders: while one is open (or completed and not yet
closed: a follow-up visit may still call them) it is needed; once all have ended (closed
or cancelled) it is kept for the retention period, for complaints and disputes about the
work, then erased.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.dispatch.domain.workorder import Status

ENDED_STATUSES = frozenset({Status.CLOSED.value, Status.CANCELLED.value})
"""A work order's statuses that need its reporter no more (a closed order may be reopened:
it then starts its reporter's period again when it ends)."""


def retention_due(ended_at: datetime, days: int) -> datetime:
    """When a resident whose latest order ended at `ended_at` (none open since) falls due
    for erasure: `days` later."""
    return ended_at + timedelta(days=days)


def ended_before(until: datetime, days: int) -> datetime:
    """The latest end of a resident's orders that makes them due by `until`."""
    return until - timedelta(days=days)
