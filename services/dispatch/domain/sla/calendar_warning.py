"""Warning that a clock's due time rests on a year whose public holidays are not known.

A working-days clock that runs into next year before the State Council has announced its
days off and make-up working days (调休) is due by an estimate: the statutory days off and
no make-up working day. Nobody should be surprised when the notice moves it, so the
decision that sets such a due time (a start, a resume, a recalculation) also records a
`workorder.sla_calendar_unconfirmed` event: once per clock and year, not again on each
recalculation, nor on the clock's next cycle into the same year.
"""

from __future__ import annotations

from services.dispatch.domain.sla.emitter import Emitter
from services.dispatch.domain.sla.policy import PolicyBook
from shared.events.sla import (
    ClockName,
    SlaCalendarUnconfirmed,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
)

_SETS_DUE_TIME = (SlaClockStarted, SlaClockResumed, SlaClockRecalculated)


def warn_unconfirmed(out: Emitter, policies: PolicyBook) -> None:
    """Append a warning for each clock whose due time this decision set across a year with
    no known schedule, unless that clock was warned of those years already."""
    moved = {e.clock for e in out.events if isinstance(e, _SETS_DUE_TIME)}
    for name in ClockName:
        clock = out.sla.clocks.get(name)
        if name not in moved or clock is None or not clock.active:
            continue
        calendar = policies.of(clock.policy_version).calendar(clock.calendar)
        since = clock.running_since or out.at
        first, last = sorted((since, clock.due_at))
        warned = out.sla.calendar_warnings.get(name, frozenset())
        years = tuple(y for y in calendar.unconfirmed_years(first, last) if y not in warned)
        if years:
            out.emit(
                SlaCalendarUnconfirmed(
                    **clock.figures(calendar, out.at),
                    due_at=clock.due_at,
                    calendar=clock.calendar,
                    years=years,
                )
            )
