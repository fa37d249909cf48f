"""Timers as typed values: two kinds share the table's stored shape and fire through handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from services.dispatch.domain import sla
from services.dispatch.service_layer.timers import (
    ClockTimer,
    OfferExpiry,
    Timer,
    TimerHandlers,
    TimerKind,
    timer_from_row,
)
from shared.events.sla import ClockName

DUE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def breach() -> ClockTimer:
    return ClockTimer("wo-1", sla.Timer(ClockName.RESOLUTION, 2, sla.TimerKind.BREACH, DUE))


def test_a_row_written_before_the_types_existed_reads_back_as_its_kind() -> None:
    # The JSON shapes the table held before timers were typed: no migration is needed.
    offer = {"clock": "offer", "attempt": 3, "work_order_id": "wo-1"}
    warning = {
        "clock": "arrival",
        "cycle": 1,
        "kind": "warning",
        "due_at": DUE.isoformat(),
        "threshold": 0.8,
        "level": None,
        "trigger": None,
        "work_order_id": "wo-1",
    }

    assert timer_from_row("wo-1", offer, DUE) == OfferExpiry("wo-1", 3, DUE)
    assert timer_from_row("wo-1", warning, DUE) == ClockTimer(
        "wo-1",
        sla.Timer(
            ClockName.ARRIVAL, 1, sla.TimerKind.WARNING, DUE, threshold=0.8, work_order_id="wo-1"
        ),
    )


@pytest.mark.parametrize("timer", [breach(), OfferExpiry("wo-1", 1, DUE)])
def test_each_kind_survives_its_row(timer: Timer) -> None:
    row = timer.row()

    assert timer_from_row("wo-1", row.timer, row.due_at) == timer
    assert (row.key, row.clock) == (timer.key, timer.clock)


def test_a_breach_row_keeps_the_domain_timers_key_and_firing_instant() -> None:
    row = breach().row()

    assert (row.key, row.clock) == ("resolution:2:breach", "resolution")
    assert row.fires_at > row.due_at == DUE


def test_the_scheduler_hands_each_kind_to_its_own_handler_offers_first() -> None:
    calls: list[tuple[str, list[Timer]]] = []

    def recorder(name: str):  # type: ignore[no-untyped-def]
        async def handle(work_order_id: str, due: Sequence[Timer], now: datetime) -> int:
            calls.append((name, list(due)))
            return len(due)

        return handle

    handlers = TimerHandlers()
    handlers.register(TimerKind.OFFER_EXPIRY, recorder("offers"))
    handlers.register(TimerKind.SLA_CLOCK, recorder("clocks"))
    offer = OfferExpiry("wo-1", 1, DUE)

    raised = asyncio.run(handlers.fire("wo-1", [breach(), offer], DUE))

    assert raised == 2
    assert calls == [("offers", [offer]), ("clocks", [breach()])]


def test_a_kind_has_one_handler_and_a_timer_without_one_is_refused() -> None:
    async def nothing(work_order_id: str, due: Sequence[Timer], now: datetime) -> int:
        return 0

    handlers = TimerHandlers()
    handlers.register(TimerKind.SLA_CLOCK, nothing)

    with pytest.raises(ValueError, match="registered already"):
        handlers.register(TimerKind.SLA_CLOCK, nothing)
    with pytest.raises(LookupError, match="offer_expiry"):
        asyncio.run(handlers.fire("wo-1", [OfferExpiry("wo-1", 1, DUE)], DUE))
