"""The SLA engine's face: `react` answers the events and the clocks after them, `fire` the
events and the timers left after them."""

from __future__ import annotations

from services.dispatch.domain.commands import Complete
from services.dispatch.domain.sla import Clocks, TimerKind, fire, react, timers
from services.dispatch.domain.workorder import decide, evolve
from shared.events.sla import ClockName, SlaClockBreached, SlaClockMet

from .builders import SUPERVISOR
from .sla_story import SlaStory
from .test_sla_timers import DAY, promised_in_two_days


def clocks_of(story: SlaStory) -> Clocks:
    return Clocks(story.sla, story.book, story.work_order_id, story.current, story.project)


def test_react_answers_the_caused_events_and_the_clocks_after_them() -> None:
    story, _ = promised_in_two_days()
    [completed] = decide(story.state, Complete(summary="valve"), SUPERVISOR, story.now)
    after = evolve(story.state, completed, story.now)
    assert after is not None
    state = Clocks(story.sla, story.book, story.work_order_id, after, story.project)

    events, clocks = react(state, completed, story.now)

    assert ClockName.RESOLUTION in {e.clock for e in events if isinstance(e, SlaClockMet)}
    story.state = after
    story.record(events)
    assert clocks == story.sla
    pending = timers(clocks, story.book, story.work_order_id)
    assert all(t.clock is not ClockName.RESOLUTION for t in pending)


def test_fire_answers_the_raised_event_and_drops_the_fired_timer() -> None:
    story, _ = promised_in_two_days()
    story.downtime(3 * DAY)
    [breach] = [
        t for t in story.timers() if t.kind is TimerKind.BREACH and t.clock is ClockName.RESOLUTION
    ]

    events, pending = fire(clocks_of(story), breach, story.now)

    assert [type(e) for e in events] == [SlaClockBreached]
    assert breach not in pending
    story.record(events)
    assert pending == story.timers()
    assert fire(clocks_of(story), breach, story.now) == ([], story.timers())
