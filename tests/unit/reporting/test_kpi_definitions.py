"""The headline KPIs' definitions (docs/kpis.md), one rule per test, on small histories."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services.reporting.domain.kpis import KPIS, KpiValue, Scope, compute
from services.reporting.domain.periods import Period
from services.reporting.service_layer.projection import WorkingSet, project
from tests.unit.reporting.histories import TENANT, OrderStory, project_event
from tests.unit.reporting.storm import figures, report, storm
from tests.unit.reporting.support import facts_of

REPORTED = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NOVEMBER = Period(date(2026, 11, 1), date(2026, 12, 1))
NOW = datetime(2026, 12, 20, tzinfo=UTC)


def _figure(kpi: str, *stories: OrderStory, period: Period = NOVEMBER) -> KpiValue:
    events = [project_event("sunny", 100, REPORTED - timedelta(days=30))]
    for story in stories:
        events.extend(story.events)
    working = project(WorkingSet(), [facts_of(e) for e in events])
    scope = Scope(frozenset({(TENANT, "sunny")}))
    return compute(KPIS[kpi], working.orders.values(), working.projects, scope, period, NOW)


def _repair(at: datetime = REPORTED) -> OrderStory:
    return OrderStory("sunny", "repair", at).reported(at)


def _kept_repair() -> OrderStory:
    story = _repair()
    story.emit("workorder.arrived", REPORTED + timedelta(minutes=2), technician="tech-a")
    story.clock_met("arrival", REPORTED + timedelta(minutes=2), on_time=True)
    story.emit("workorder.completed", REPORTED + timedelta(hours=3), summary="fixed")
    return story.clock_met("resolution", REPORTED + timedelta(hours=3), on_time=True)


def test_breached_open_repair_counts_against_timeliness() -> None:
    # Nobody came within 3 minutes and the repair is still open: it already failed.
    broken = _repair().clock_breached(
        "arrival", REPORTED + timedelta(minutes=3), REPORTED + timedelta(minutes=3)
    )
    figure = _figure("repair_timeliness", _kept_repair(), broken)
    assert (figure.numerator, figure.denominator) == (1, 2)
    assert figure.meets_target is False


def test_a_repair_fails_timeliness_in_the_period_of_its_breach() -> None:
    # Arrival broken on 30 November, the work done in December: November's failure.
    late_in_month = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    story = _repair(late_in_month)
    story.clock_breached("arrival", late_in_month + timedelta(minutes=3), late_in_month)
    done = datetime(2026, 12, 2, tzinfo=UTC)
    story.emit("workorder.arrived", done, technician="tech-a")
    story.clock_met("arrival", done, on_time=False)
    story.emit("workorder.completed", done, summary="fixed")
    story.clock_met("resolution", done, on_time=True)
    november = _figure("repair_timeliness", story)
    december = _figure(
        "repair_timeliness", story, period=Period(date(2026, 12, 1), date(2027, 1, 1))
    )
    assert (november.numerator, november.denominator) == (0, 1)
    assert december.denominator == 0


def test_a_broken_resolution_promise_fails_an_open_repair() -> None:
    story = _repair()
    story.emit("workorder.arrived", REPORTED + timedelta(minutes=2), technician="tech-a")
    story.clock_met("arrival", REPORTED + timedelta(minutes=2), on_time=True)
    story.clock_breached("resolution", REPORTED + timedelta(days=2), REPORTED + timedelta(days=2))
    figure = _figure("repair_timeliness", story)
    assert (figure.numerator, figure.denominator) == (0, 1)


def test_a_repair_is_kept_only_once_all_its_clocks_concluded_met() -> None:
    running = _repair()
    running.emit("workorder.arrived", REPORTED + timedelta(minutes=2), technician="tech-a")
    running.clock_met("arrival", REPORTED + timedelta(minutes=2), on_time=True)
    assert _figure("repair_timeliness", running).denominator == 0
    kept = _figure("repair_timeliness", _kept_repair())
    assert (kept.numerator, kept.denominator) == (1, 1)


def test_a_repair_cancelled_before_any_breach_is_not_counted() -> None:
    story = _repair()
    story.emit("workorder.cancelled", REPORTED + timedelta(minutes=1), reason="withdrawn")
    story.clock_cancelled("arrival", REPORTED + timedelta(minutes=1))
    story.clock_cancelled("resolution", REPORTED + timedelta(minutes=1))
    assert _figure("repair_timeliness", story).denominator == 0


def test_time_to_arrive_runs_from_when_the_request_came_in() -> None:
    # The call came in at 09:50, was typed in at 10:00, someone arrived at 10:02: twelve
    # minutes for the resident, as the arrival clock (which ran from 09:50) says.
    came_in = REPORTED - timedelta(minutes=10)
    story = OrderStory("sunny", "repair", REPORTED).reported(REPORTED, received_at=came_in)
    story.emit("workorder.arrived", REPORTED + timedelta(minutes=2), technician="tech-a")
    figure = _figure("time_to_arrive", story)
    assert figure.p50 == timedelta(minutes=12).total_seconds()


def test_an_order_belongs_to_the_period_its_request_came_in() -> None:
    # A call at 23:55 on 31 October (Shanghai), typed in after midnight: October's order.
    came_in = datetime(2026, 10, 31, 15, 55, tzinfo=UTC)
    entered = datetime(2026, 10, 31, 16, 5, tzinfo=UTC)
    story = OrderStory("sunny", "repair", entered).reported(entered, received_at=came_in)
    october = Period(date(2026, 10, 1), date(2026, 11, 1))
    assert _figure("postponement_rate", story, period=october).denominator == 1
    assert _figure("postponement_rate", story).denominator == 0


def test_last_rating_counts_for_satisfaction() -> None:
    # Rated 2, visited again and re-rated 5: one satisfied resident, not one of two.
    story = _kept_repair()
    story.emit("workorder.follow_up_recorded", REPORTED + timedelta(days=1), rating=2)
    story.emit("workorder.follow_up_recorded", REPORTED + timedelta(days=2), rating=5)
    unhappy = _kept_repair()
    unhappy.emit("workorder.follow_up_recorded", REPORTED + timedelta(days=1), rating=5)
    unhappy.emit("workorder.follow_up_recorded", REPORTED + timedelta(days=3), rating=3)
    figure = _figure("satisfaction", story, unhappy)
    assert (figure.numerator, figure.denominator) == (1, 2)


def test_a_re_rating_moves_the_order_to_the_period_of_the_last_rating() -> None:
    story = _kept_repair()
    story.emit("workorder.follow_up_recorded", datetime(2026, 11, 20, tzinfo=UTC), rating=5)
    story.emit("workorder.follow_up_recorded", datetime(2026, 12, 3, tzinfo=UTC), rating=4)
    december = Period(date(2026, 12, 1), date(2027, 1, 1))
    assert _figure("satisfaction", story).denominator == 0
    assert (_figure("satisfaction", story, period=december).numerator) == 1


def test_the_storm_run_adds_the_open_broken_repairs_and_counts_one_rating_per_order() -> None:
    events = storm(300, 7)
    found = figures(events)
    by_order: dict[object, list[str]] = {}
    for e in events:
        by_order.setdefault(e["subject"], []).append(str(e["type"]))
    breached_open = sum(
        "workorder.sla_clock_breached.v1" in types and "workorder.completed.v1" not in types
        for types in by_order.values()
    )
    ratings = [types.count("workorder.follow_up_recorded.v1") for types in by_order.values()]
    assert breached_open and any(n > 1 for n in ratings), "the storm has both cases"
    assert found.timeliness_new.hits == found.timeliness_old.hits
    assert found.timeliness_new.samples == found.timeliness_old.samples + breached_open
    assert found.satisfaction_old.samples == sum(ratings)
    assert found.satisfaction_new.samples == sum(1 for n in ratings if n)


def test_the_storm_command_of_the_docs_prints_the_figures_the_docs_show() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.unit.reporting.storm", "--repairs", "300", "--seed", "7"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert run.stdout == report(300, 7) + "\n"
    docs = (Path(__file__).parents[3] / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert "python -m tests.unit.reporting.storm --repairs 300 --seed 7" in docs
    assert run.stdout in docs
