"""An offer nobody accepted in time: record the expiry and make the next offer."""

from __future__ import annotations

from datetime import datetime

from services.dispatch.service_layer.append import Answer, Stream
from services.dispatch.service_layer.assignment import (
    ASSIGNMENT_ACTOR,
    StaffDirectory,
    dispatch_after,
    expiry_of,
)
from services.dispatch.service_layer.context import CommandContext, Effect
from services.dispatch.service_layer.ports import EventStore
from services.dispatch.service_layer.sla import SlaPolicies
from services.dispatch.service_layer.timer_work import load_fresh, retry_conflicts
from services.dispatch.service_layer.work_orders import append_work_order
from shared.auth import Principal, Role


async def expire_offer(
    store: EventStore,
    policies: SlaPolicies,
    staff: StaffDirectory | None,
    work_order_id: str,
    attempt: int,
    now: datetime,
    attempts: int = 3,
) -> int:
    """Expire offer `attempt` of a work order if still open; return how many events.

    Idempotent: an offer accepted, declined by all, or already expired raises nothing, so
    two schedulers racing for the same timer record it once (the loser's append conflicts
    and, decided again, finds nothing left). The stream's timers are rewritten either way.
    """
    return await retry_conflicts(
        lambda: _expire_once(store, policies, staff, work_order_id, attempt, now), attempts
    )


async def _expire_once(
    store: EventStore,
    policies: SlaPolicies,
    staff: StaffDirectory | None,
    work_order_id: str,
    attempt: int,
    now: datetime,
) -> int:
    fresh = await load_fresh(store, work_order_id)
    if fresh is None:
        return 0
    tenant, project, state = fresh.tenant, fresh.project, fresh.state
    decided = expiry_of(state, attempt)
    decided = await dispatch_after(staff, tenant, project, work_order_id, state, decided, now)
    # The engine acts as a dispatcher of the order's own project, on no one's request.
    principal = Principal(
        subject=ASSIGNMENT_ACTOR, role=Role.DISPATCHER, tenant=tenant, projects=frozenset({project})
    )
    ctx = CommandContext(principal, now, correlation_id=f"offer:{work_order_id}:{attempt}")
    stream = Stream(work_order_id, tenant, project, state.version)
    before = (fresh.history, state)
    await append_work_order(
        store, policies, stream, before, decided, ctx, Answer(Effect.APPLIED, {}, "")
    )
    return len(decided)
