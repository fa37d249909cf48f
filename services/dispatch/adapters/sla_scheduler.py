"""The SLA scheduler of one dispatch database: the timer scheduler over its SQL timer table.

It fires the SLA clocks' timers and the assignment engine's offer expiries alike; the
loop, its claim protocol and its wake-ups are the service layer's (`TimerScheduler`),
what firing each kind does is `timer_handlers`.
"""

from __future__ import annotations

from typing import Unpack

from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.sql_timer_store import SqlTimerStore
from services.dispatch.service_layer.assignment import StaffDirectory
from services.dispatch.service_layer.ports import EventStore
from services.dispatch.service_layer.sla import DutyDirectory, SlaPolicies
from services.dispatch.service_layer.timer_handlers import timer_handlers
from services.dispatch.service_layer.timer_scheduler import SchedulerTuning, TimerScheduler
from shared.clock import Clock


class SlaScheduler(TimerScheduler):
    """Fires due SLA and offer timers for the work orders of one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        policies: SlaPolicies,
        clock: Clock,
        *,
        staff: StaffDirectory | None = None,
        duty: DutyDirectory | None = None,
        **tuning: Unpack[SchedulerTuning],
    ) -> None:
        super().__init__(
            SqlTimerStore(engine), timer_handlers(store, policies, staff, duty), clock, **tuning
        )
