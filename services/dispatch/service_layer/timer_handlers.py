"""What firing each kind of timer does: the handlers the scheduler dispatches to.

An offer's expiry goes to the assignment engine (`expire_offer`: record it, offer the
next candidate); an SLA clock's timers go to the SLA engine (`fire_timers`). Offers fire
first, as they always did, so an expiry and a clock timer due together append in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.dispatch.service_layer.assignment import StaffDirectory
from services.dispatch.service_layer.offer_expiry import expire_offer
from services.dispatch.service_layer.ports import EventStore
from services.dispatch.service_layer.sla import DutyDirectory, SlaPolicies, fire_timers
from services.dispatch.service_layer.timers import (
    ClockTimer,
    OfferExpiry,
    Timer,
    TimerHandlers,
    TimerKind,
)


def timer_handlers(
    store: EventStore,
    policies: SlaPolicies,
    staff: StaffDirectory | None = None,
    duty: DutyDirectory | None = None,
) -> TimerHandlers:
    """The handler of every kind of timer, over one event store."""

    async def expire_offers(work_order_id: str, due: Sequence[Timer], now: datetime) -> int:
        attempts = sorted(timer.attempt for timer in due if isinstance(timer, OfferExpiry))
        raised = 0
        for attempt in attempts:
            raised += await expire_offer(store, policies, staff, work_order_id, attempt, now)
        return raised

    async def fire_clocks(work_order_id: str, due: Sequence[Timer], now: datetime) -> int:
        clocks = [timer.timer for timer in due if isinstance(timer, ClockTimer)]
        return await fire_timers(store, policies, work_order_id, clocks, now, duty=duty)

    handlers = TimerHandlers()
    handlers.register(TimerKind.OFFER_EXPIRY, expire_offers)
    handlers.register(TimerKind.SLA_CLOCK, fire_clocks)
    return handlers
