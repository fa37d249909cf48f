"""The timer store rebuilt from the events: every timer is a function of its work order's stream."""

from __future__ import annotations

from collections.abc import Iterable

from services.dispatch.domain.sla import fold_sla
from services.dispatch.service_layer.assignment import offer_timer_rows
from services.dispatch.service_layer.ports import EventStore
from services.dispatch.service_layer.sla import SlaPolicies, policies_for, timer_rows
from services.dispatch.service_layer.timer_store import PendingTimers, TimerStore
from services.dispatch.service_layer.timer_work import load_fresh


async def pending_timers(
    store: EventStore, policies: SlaPolicies, work_order_id: str
) -> PendingTimers | None:
    """The timers a work order's events leave pending (its SLA clocks' and its open offer's);
    None if the work order has no events."""
    fresh = await load_fresh(store, work_order_id)
    if fresh is None:
        return None
    sla = fold_sla(fresh.history)
    book = await policies_for(policies, fresh.tenant, fresh.project, sla)
    timers = (*timer_rows(sla, book, work_order_id), *offer_timer_rows(fresh.state, work_order_id))
    return PendingTimers(work_order_id, fresh.tenant, fresh.project, timers)


async def rebuild_timers(
    store: EventStore, policies: SlaPolicies, timers: TimerStore, work_order_ids: Iterable[str]
) -> int:
    """Replace every timer of `timers` with those the work orders' events leave pending, so
    a lost or damaged timer store is restored; return how many timers it holds."""
    pending = [
        await pending_timers(store, policies, work_order_id) for work_order_id in work_order_ids
    ]
    return await timers.replace_all([found for found in pending if found is not None])
