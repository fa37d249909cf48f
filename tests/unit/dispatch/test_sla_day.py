"""A whole day of SLA time on an injectable clock: many work orders, one scheduler.

The day runs in a fraction of a second (see `pytest --durations`); as the project decided,
speed is measured by bench scripts, never asserted here.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

from services.dispatch.domain.commands import (
    Arrive,
    Assign,
    Command,
    Complete,
    GiveFeedback,
    MakeCommitment,
    Pause,
    Resume,
    StartWork,
)
from services.dispatch.domain.sla import fold_sla, on_timer
from shared.clock import ManualClock
from shared.events.catalogue import parse
from shared.events.sla import ClockName, SlaClockBreached, SlaClockEvent, SlaClockMet
from shared.events.workorder import PauseReason, WorkOrderKind

from .sla_story import MONDAY_9AM, SlaStory, only, reported

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
KINDS = [
    WorkOrderKind.REPAIR,
    WorkOrderKind.COMPLAINT,
    WorkOrderKind.SUGGESTION,
    WorkOrderKind.CLEANING,
]


def plan(n: int, start: datetime) -> list[tuple[datetime, Command]]:
    """What happens to the n-th order: every third technician is late, some wait for parts."""
    arrive_after = 5 * MINUTE if n % 3 == 0 else 2 * MINUTE
    steps: list[tuple[timedelta, Command]] = [
        (MINUTE, Assign(assignee=f"tech-{n % 5}")),
        (arrive_after, Arrive()),
        (arrive_after + MINUTE, StartWork()),
        (10 * MINUTE, MakeCommitment(due_at=start + 4 * HOUR)),
    ]
    if n % 4 == 1:
        steps += [(HOUR, Pause(reason=PauseReason.WAITING_FOR_PARTS)), (3 * HOUR, Resume())]
    steps += [(5 * HOUR, Complete(summary="done")), (6 * HOUR, GiveFeedback(message="done"))]
    return [(start + after, command) for after, command in steps]


class TimerTable:
    """The scheduler's table: each order's timers, recomputed only when its stream grows."""

    def __init__(self, stories: list[SlaStory]) -> None:
        self.stories = stories
        self.pending = {i: s.timers() for i, s in enumerate(stories)}
        self.fired = 0

    def appended(self, i: int) -> None:
        """Order `i` got new events: its timers are rebuilt from its state."""
        self.pending[i] = self.stories[i].timers()

    def fire_due(self, clock: ManualClock, until: datetime) -> None:
        """Fire every timer due by `until`, all orders together, in due order."""
        # Each order's timers are already in firing order: the next one is a first one.
        while due := [(ts[0].fires_at, i, ts[0]) for i, ts in self.pending.items() if ts]:
            at, i, timer = min(due, key=lambda d: (d[0], d[1]))
            if at > until:
                return
            clock.advance(max(at - clock.now(), timedelta(0)))
            story = self.stories[i]
            events = on_timer(story.sla, story.book, timer, clock.now())
            story.record(events)
            self.fired += len(events)
            self.appended(i)


def test_a_full_day_of_work_orders_runs_on_the_injectable_clock() -> None:
    clock = ManualClock(MONDAY_9AM)
    stories = [SlaStory(clock=clock, work_order_id=f"wo-{n}") for n in range(72)]
    agenda: list[tuple[datetime, int, Command]] = []
    for n in range(72):  # a report every twenty minutes, round the clock
        start = MONDAY_9AM + n * 20 * MINUTE
        agenda.append((start, n, reported(KINDS[n % 4])))
        agenda += [(when, n, command) for when, command in plan(n, start)]
    agenda.sort(key=lambda item: (item[0], item[1]))  # stable: an order's steps keep their order

    table = TimerTable(stories)
    for when, n, command in agenda:
        table.fire_due(clock, when)
        clock.advance(when - clock.now())
        stories[n].do(command)
        table.appended(n)
    table.fire_due(clock, MONDAY_9AM + 48 * HOUR)

    late_arrivals = {f"wo-{n}" for n in range(72) if n % 3 == 0 and KINDS[n % 4] in KINDS[:2]}
    breached_arrivals = {
        s.work_order_id
        for s in stories
        if only(s.sla_events(), SlaClockBreached, ClockName.ARRIVAL)
    }
    waited_for_parts = {f"wo-{n}" for n in range(1, 72, 4)}
    assert breached_arrivals == late_arrivals
    assert table.fired > 72
    for story in stories:
        events = story.sla_events()
        # Each cycle of each clock breaches at most once and concludes at most once.
        breaches = Counter((e.clock, e.cycle) for e in only(events, SlaClockBreached))
        assert set(breaches.values()) <= {1}
        stored = [
            (parse(e.type_name, json.loads(e.model_dump_json())), at)
            for e, at in story.log
            if isinstance(e, SlaClockEvent)
        ]
        assert fold_sla(stored) == story.sla
        # Promised in 4 h, done in 5 h: late, unless 2 h of waiting for parts came between.
        [met] = only(events, SlaClockMet, ClockName.RESOLUTION)
        assert met.on_time is (story.work_order_id in waited_for_parts)
