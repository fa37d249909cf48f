"""Retention of residents' personal data: erased a set time after their orders ended.

`PERSONAL_DATA_RETENTION_DAYS` (1,095 by default: three years) after the latest of a
resident's orders ended (closed or cancelled, none open or awaiting closing since), their
data is erased by the same mechanism as on request, with reason `retention`. A supervised
loop does it; `GET /v1/privacy/retention` and `wo privacy retention --dry-run` list who
is due and when, erasing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.domain.privacy import ended_before, retention_due
from services.dispatch.service_layer.context import CommandContext
from services.dispatch.service_layer.resident_erasure import (
    RETENTION_ACTOR,
    ResidentData,
    erase_resident,
)
from services.dispatch.service_layer.roles import require_privacy_officer
from shared.auth import ALL_PROJECTS, Principal, Role
from shared.clock import Clock
from shared.events.resident import ErasureReason
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ResidentRetention:
    """How long residents' data is kept after their orders ended, and how the loop goes."""

    days: int
    every_seconds: float = 3600.0
    batch: int = 100


async def due_residents(
    data: ResidentData,
    principal: Principal,
    retention: ResidentRetention,
    until: datetime,
    limit: int,
) -> list[dict[str, Any]]:
    """The residents of the caller's tenant due for erasure by `until`, the longest due
    first: reference, when their latest order ended, when they fall due. Privacy officers
    only; nothing is erased."""
    require_privacy_officer(principal, "read who is due for erasure")
    cutoff = ended_before(until, retention.days)
    ended = await data.orders.ended(principal.tenant, cutoff, limit)
    return [
        {
            "resident": r.resident,
            "ended_at": r.ended_at.isoformat(),
            "due_at": retention_due(r.ended_at, retention.days).isoformat(),
        }
        for r in ended
    ]


async def erase_due(data: ResidentData, clock: Clock, retention: ResidentRetention) -> int:
    """Erase every resident of every tenant due now, a batch at a time; how many."""
    erased = 0
    while True:
        now = clock.now()
        due = await data.orders.ended(None, ended_before(now, retention.days), retention.batch)
        for resident in due:
            principal = Principal(
                subject=RETENTION_ACTOR,
                role=Role.PRIVACY_OFFICER,
                tenant=resident.tenant,
                projects=frozenset({ALL_PROJECTS}),
            )
            ctx = CommandContext(principal, now, correlation_id=f"retention:{resident.resident}")
            await erase_resident(data, ctx, resident.resident, ErasureReason.RETENTION)
            erased += 1
        if len(due) < retention.batch:
            break
    if erased:
        log.info("residents_erased_by_retention", residents=erased)
    return erased


async def run_resident_retention(
    data: ResidentData, clock: Clock, retention: ResidentRetention
) -> None:
    """Erase the residents due now and then every `every_seconds`, until cancelled (the
    runner supervises it)."""
    while True:
        await erase_due(data, clock, retention)
        await clock.sleep(retention.every_seconds)
