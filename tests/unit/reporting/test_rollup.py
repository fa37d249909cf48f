"""The roll-up's pure parts, the team dimension and notification outcomes, without I/O."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.reporting.domain.facts import EventFact, apply
from services.reporting.domain.kpis import KPIS, Sample, aggregate, figure, order_dimensions
from services.reporting.domain.notifications import notification_figures, outcome_of
from services.reporting.domain.periods import Granularity
from services.reporting.domain.rollup import (
    DAY_SPAN,
    HOUR_SPAN,
    Counts,
    Window,
    band_of,
    hit_code,
    sample_keys,
    slot_bucket,
    slot_of,
    windows,
)

AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def _event(type_name: str, sequence: int, **data: object) -> EventFact:
    return EventFact(type_name, "wo-1", "acme", "sunny", sequence, AT, dict(data))


def _reported() -> EventFact:
    return _event(
        "workorder.reported", 1, kind="repair", category="plumbing", urgency="normal",
        location={"building": "b1"}, channel="app", owner="r1",
    )  # fmt: skip


def test_the_latest_assignment_names_the_team_and_an_absent_team_is_none() -> None:
    facts = apply(None, _reported())
    facts = apply(facts, _event("workorder.assigned", 2, assignee="tech-a", team="east"))
    assert facts is not None and facts.team == "east"
    assert order_dimensions(facts)["team"] == "east"
    moved = apply(facts, _event("workorder.reassigned", 3, from_assignee="tech-a",
                                to_assignee="tech-b", reason="x", team="west"))  # fmt: skip
    assert moved is not None and (moved.technician, moved.team) == ("tech-b", "west")
    untagged = apply(facts, _event("workorder.reassigned", 3, from_assignee="tech-a",
                                   to_assignee="tech-c", reason="x"))  # fmt: skip
    assert untagged is not None and untagged.team is None


def test_windows_cover_whole_utc_days_with_hours_at_the_edges() -> None:
    # November in Shanghai: 31 Oct 16:00 UTC .. 30 Nov 16:00 UTC.
    low, high = datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC)
    found = windows(low, high)
    assert found is not None
    first, end = slot_of(low), slot_of(high)
    assert found == [
        Window(HOUR_SPAN, first, first + 8),
        Window(DAY_SPAN, first + 8, end - 16),
        Window(HOUR_SPAN, end - 16, end),
    ]
    assert windows(low, low + timedelta(hours=5)) == [Window(HOUR_SPAN, first, first + 5)]
    # Kolkata's midnight is at :30 UTC: no set of hour rows covers it.
    assert windows(low + timedelta(minutes=30), high) is None


def test_an_hour_straddling_two_local_hours_has_no_bucket() -> None:
    slot = slot_of(AT)
    assert slot_bucket(slot, "Asia/Shanghai", Granularity.HOUR) == "2026-11-03T17"
    assert slot_bucket(slot, "Asia/Kolkata", Granularity.HOUR) is None


@given(st.floats(min_value=-10, max_value=1e9), st.floats(min_value=-10, max_value=1e9))
def test_bands_are_monotone_in_the_measure(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert band_of(low) <= band_of(high)


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1, max_size=60))
def test_percentiles_walked_through_bands_equal_the_sorted_samples(measures: list[float]) -> None:
    kpi = KPIS["time_to_resolve"]
    samples = [Sample(f"wo-{i}", "acme", "sunny", AT, measure=m) for i, m in enumerate(measures)]
    counts = Counts()
    for sample in samples:
        key = sample_keys(kpi.name, sample)[0][0]
        counts.add(key.label, key.hit, key.band, 1)
    bands = {
        b: sorted(Counter(m for m in measures if band_of(m) == b).items())
        for b, _ in counts.ranks(kpi)
    }
    assert figure(kpi, counts.tally(kpi, bands)) == aggregate(kpi, samples)


def test_counts_of_hits_and_labels_give_the_sample_figure() -> None:
    kpi = KPIS["sla_breaches"]
    samples = [Sample("wo-1", "acme", "sunny", AT, hit=True, label=c) for c in ("arrival", "reply")]
    counts = Counts()
    for sample in samples:
        key = sample_keys(kpi.name, sample)[0][1]
        assert key.hit == hit_code(True) and key.span == DAY_SPAN
        counts.add(key.label, key.hit, key.band, 1)
    assert figure(kpi, counts.tally(kpi, {})) == aggregate(kpi, samples)


def test_a_notification_event_is_an_outcome_and_others_are_not() -> None:
    event = EventFact(
        "notification.dead", "notification:dl-1", "acme", "sunny", 3, AT,
        {"delivery_id": "dl-1", "channel": "sms", "template": "order_assigned",
         "work_order_id": "wo-1", "event_type": "workorder.assigned"},
    )  # fmt: skip
    outcome = outcome_of(event)
    assert outcome is not None
    assert (outcome.outcome, outcome.channel, outcome.work_order_id) == ("dead", "sms", "wo-1")
    assert outcome_of(_reported()) is None


def test_the_delivery_rate_is_sent_over_sent_and_dead() -> None:
    found = notification_figures(
        [("sms", "a", "sent", 3), ("sms", "a", "failed", 2), ("wecom", "b", "dead", 1)]
    )
    assert found.total.delivery_rate == 0.75
    assert found.by_channel["sms"].delivery_rate == 1.0
    assert found.by_channel["wecom"].of("sent") == 0
    assert notification_figures([]).total.delivery_rate is None


def test_an_unreached_delivery_counts_in_the_notification_figures() -> None:
    # An escalation whose route found nobody: no channel was chosen, nobody was told.
    event = EventFact(
        "notification.unreached", "notification:dl-2", "acme", "sunny", 1, AT,
        {"delivery_id": "dl-2", "event_type": "workorder.sla_escalated", "work_order_id": "wo-1"},
    )  # fmt: skip
    outcome = outcome_of(event)
    assert outcome is not None
    assert (outcome.outcome, outcome.channel, outcome.template) == ("unreached", "none", "none")
    found = notification_figures([("sms", "a", "sent", 3), ("none", "none", "unreached", 1)])
    assert found.total.of("unreached") == 1
    assert found.total.delivery_rate == 0.75
    assert found.by_channel["none"].delivery_rate == 0.0
