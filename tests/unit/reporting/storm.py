"""A storm-style scripted run: repair timeliness and satisfaction under the old and new definitions.

    python -m tests.unit.reporting.storm [--repairs 300] [--seed 7]

A typhoon night in one project: `--repairs` repairs reported over twelve hours; a share of
them break the 3-minute arrival promise, some of those are still open at the end; most
are done and a share of those are visited and rated, some visited again and re-rated.
The run folds the events as reporting does and prints both figures the way reporting
computes them now and the way it computed them before (timeliness counted a repair only
once its resolution was met; satisfaction counted every rating). Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.reporting.domain.facts import OrderFacts
from services.reporting.domain.kpis import KPIS, SATISFIED_FROM, Scope, compute
from services.reporting.domain.periods import Period
from services.reporting.service_layer.projection import WorkingSet, project
from shared.events.sla import ClockName
from tests.unit.reporting.histories import TENANT, OrderStory, project_event
from tests.unit.reporting.support import facts_of

NIGHT = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
PERIOD = Period(date(2026, 9, 1), date(2026, 10, 1))
NOW = datetime(2026, 10, 2, tzinfo=UTC)
PROJECT = "harbour"


@dataclass(frozen=True)
class Ratio:
    """A figure: hits of samples."""

    hits: int
    samples: int

    def __str__(self) -> str:
        share = f"{self.hits / self.samples:.1%}" if self.samples else "n/a"
        return f"{self.hits}/{self.samples} = {share}"


@dataclass(frozen=True)
class StormFigures:
    """Both figures under both definitions."""

    timeliness_old: Ratio
    timeliness_new: Ratio
    satisfaction_old: Ratio
    satisfaction_new: Ratio


def storm(repairs: int, seed: int) -> list[dict[str, object]]:
    """The storm's events (one project), deterministic for `seed`."""
    draw = random.Random(seed)
    events: list[dict[str, object]] = [project_event(PROJECT, 2000, NIGHT - timedelta(days=30))]
    for _ in range(repairs):
        at = NIGHT + timedelta(minutes=draw.randrange(12 * 60))
        story = OrderStory(PROJECT, "repair", at).reported(at)
        if draw.random() < 0.15:  # nobody could come within 3 minutes
            story.clock_breached("arrival", at + timedelta(minutes=3), at + timedelta(minutes=3))
            if draw.random() < 0.5:  # still waiting when the storm is over
                events.extend(story.events)
                continue
            arrived = at + timedelta(minutes=draw.randrange(10, 120))
            story.emit("workorder.arrived", arrived, technician="tech-a")
            story.clock_met("arrival", arrived, on_time=False)
        else:
            arrived = at + timedelta(minutes=2)
            story.emit("workorder.arrived", arrived, technician="tech-a")
            story.clock_met("arrival", arrived, on_time=True)
        if draw.random() < 0.1:  # parts missing: still open
            events.extend(story.events)
            continue
        done = arrived + timedelta(hours=draw.randrange(1, 20))
        story.emit("workorder.completed", done, summary="fixed")
        story.clock_met("resolution", done, on_time=True)
        rated = done
        for visit in range(2):
            if draw.random() >= (0.6 if visit == 0 else 0.3):
                break
            rated += timedelta(days=1)
            # After a bad night a first rating is often low; a second visit mends some.
            satisfied = draw.random() < (0.72 if visit == 0 else 0.6)
            rating = draw.choice([4, 5]) if satisfied else draw.choice([1, 2, 3])
            story.emit("workorder.follow_up_recorded", rated, rating=rating)
        events.extend(story.events)
    return events


def _old_timeliness(orders: list[OrderFacts]) -> Ratio:
    """Before: a repair counted once its resolution clock was met (and arrival concluded)."""
    hits = samples = 0
    for order in orders:
        resolution, arrival = order.clock(ClockName.RESOLUTION), order.clock(ClockName.ARRIVAL)
        if resolution is None or resolution.outcome != "met":
            continue
        if arrival is not None and arrival.concluded_at is None:
            continue
        samples += 1
        hits += all(
            c.outcome == "met" and c.on_time and not c.missed_with_consent
            for c in (resolution, arrival)
            if c is not None
        )
    return Ratio(hits, samples)


def _old_satisfaction(orders: list[OrderFacts]) -> Ratio:
    """Before: every rating counted, re-ratings included."""
    ratings = [r.rating for o in orders for r in o.ratings]
    return Ratio(sum(r >= SATISFIED_FROM for r in ratings), len(ratings))


def figures(events: list[dict[str, object]]) -> StormFigures:
    """Fold the events as reporting does; both figures over the storm's month, old and new."""
    working = project(WorkingSet(), [facts_of(e) for e in events])
    orders = list(working.orders.values())
    scope = Scope(frozenset({(TENANT, PROJECT)}))

    def now(kpi: str) -> Ratio:
        value = compute(KPIS[kpi], orders, working.projects, scope, PERIOD, NOW)
        return Ratio(value.numerator, value.denominator)

    return StormFigures(
        timeliness_old=_old_timeliness(orders),
        timeliness_new=now("repair_timeliness"),
        satisfaction_old=_old_satisfaction(orders),
        satisfaction_new=now("satisfaction"),
    )


def report(repairs: int, seed: int) -> str:
    """The run's figures as printed."""
    found = figures(storm(repairs, seed))
    return "\n".join(
        (
            f"storm: {repairs} repairs (seed {seed})",
            f"repair timeliness   old {found.timeliness_old}   new {found.timeliness_new}",
            f"satisfaction        old {found.satisfaction_old}   new {found.satisfaction_new}",
        )
    )


def main() -> None:
    """Print the storm's figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repairs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(report(args.repairs, args.seed))


if __name__ == "__main__":
    main()
