"""SLA policies: the default policy, most-specific-wins overrides, follow-up sampling."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.dispatch.domain.sla import (
    BusinessCalendar,
    ClockRule,
    EscalationStep,
    SlaPolicy,
    default_policy,
)
from services.dispatch.domain.workorder import WorkOrderState
from shared.events.sla import ClockName, EscalationRole
from shared.events.workorder import Urgency, WorkOrderKind

from .sla_story import SlaStory, reported

REPORTED = ("workorder.reported",)


def work_order(
    kind: WorkOrderKind = WorkOrderKind.REPAIR,
    category: str = "plumbing",
    urgency: Urgency = Urgency.NORMAL,
) -> WorkOrderState:
    story = SlaStory()
    story.do(reported(kind, category, urgency))
    return story.current


def arrival(minutes: int, **filters: object) -> ClockRule:
    return ClockRule.model_validate(
        {
            "name": "arrival",
            "target": timedelta(minutes=minutes),
            "start_on": REPORTED,
            **filters,
        }
    )


def test_the_default_policy_survives_a_json_round_trip() -> None:
    policy = default_policy()

    assert SlaPolicy.model_validate_json(policy.model_dump_json()) == policy


@pytest.mark.parametrize(
    ("kind", "clocks"),
    [
        (WorkOrderKind.REPAIR, ["arrival", "resolution", "reply", "progress", "follow_up"]),
        (
            WorkOrderKind.COMPLAINT,
            ["arrival", "feedback", "resolution", "reply", "progress", "follow_up"],
        ),
        (WorkOrderKind.SUGGESTION, ["feedback", "resolution", "progress"]),
        (WorkOrderKind.CLEANING, ["resolution", "cleaning"]),
    ],
)
def test_every_clock_that_applies_to_a_kind_runs(kind: WorkOrderKind, clocks: list[str]) -> None:
    rules = default_policy().rules_for(work_order(kind), "sunny-garden")

    assert [r.name.value for r in rules] == clocks


def test_complaint_feedback_takes_a_calendar_day_or_a_working_day_if_configured() -> None:
    complaint = work_order(WorkOrderKind.COMPLAINT)

    [calendar_day] = [
        r for r in default_policy().rules_for(complaint, None) if r.name is ClockName.FEEDBACK
    ]
    [working_day] = [
        r
        for r in default_policy(complaint_feedback_on_working_days=True).rules_for(complaint, None)
        if r.name is ClockName.FEEDBACK
    ]

    assert (calendar_day.calendar, calendar_day.target) == ("24x7", timedelta(days=1))
    assert (working_day.calendar, working_day.target) == ("working_days", timedelta(hours=8))


def test_the_most_specific_rule_of_a_clock_wins() -> None:
    policy = SlaPolicy(
        clocks=(
            arrival(3),
            arrival(1, urgencies=["urgent"]),
            arrival(5, kinds=["repair"]),
            arrival(10, categories=["plumbing"]),
            arrival(20, projects=["sunny-garden"]),
        )
    )
    urgent_plumbing = work_order(urgency=Urgency.URGENT)

    def target(project: str | None, order: WorkOrderState = urgent_plumbing) -> object:
        [rule] = policy.rules_for(order, project)
        return rule.target

    assert target("sunny-garden") == timedelta(minutes=20)  # project beats everything
    assert target("other") == timedelta(minutes=10)  # category beats kind and urgency
    assert target("other", work_order(category="lift", urgency=Urgency.URGENT)) == timedelta(
        minutes=5
    )
    assert target("other", work_order(WorkOrderKind.COMPLAINT, "lift", Urgency.URGENT)) == (
        timedelta(minutes=1)
    )
    assert target("other", work_order(WorkOrderKind.COMPLAINT, "lift")) == timedelta(minutes=3)


def test_a_rule_naming_two_filters_beats_one_naming_only_the_lower_ranked() -> None:
    policy = SlaPolicy(
        clocks=(arrival(7, kinds=["repair"], urgencies=["normal"]), arrival(9, kinds=["repair"]))
    )

    [rule] = policy.rules_for(work_order(), None)

    assert rule.target == timedelta(minutes=7)


def test_a_rule_with_an_unknown_trigger_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown work-order event types"):
        arrival(3, stop_on=["workorder.teleported"])


def test_a_rule_on_a_calendar_the_policy_lacks_is_refused() -> None:
    with pytest.raises(ValidationError, match="no calendar 'night_shift'"):
        SlaPolicy(clocks=(arrival(3, calendar="night_shift"),))


def test_two_rules_with_the_same_filters_are_refused() -> None:
    with pytest.raises(ValidationError, match="same filters"):
        SlaPolicy(clocks=(arrival(3, kinds=["repair"]), arrival(4, kinds=["repair"])))


def test_an_escalation_step_has_exactly_one_trigger() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        EscalationStep(
            level=1,
            to_role=EscalationRole.OWNER,
            at_fraction=0.5,
            after_breach=timedelta(0),
        )


def test_follow_up_sampling_is_deterministic_and_about_thirty_percent_of_repairs() -> None:
    [rule] = [
        r for r in default_policy().rules_for(work_order(), None) if r.name is ClockName.FOLLOW_UP
    ]
    ids = [f"wo-{n}" for n in range(10_000)]

    chosen = [rule.samples(i) for i in ids]

    assert chosen == [rule.samples(i) for i in ids]
    assert 0.28 < sum(chosen) / len(ids) < 0.32


def test_every_complaint_is_followed_up() -> None:
    [rule] = [
        r
        for r in default_policy().rules_for(work_order(WorkOrderKind.COMPLAINT), None)
        if r.name is ClockName.FOLLOW_UP
    ]

    assert all(rule.samples(f"wo-{n}") for n in range(1000))


def test_the_sampling_rate_is_configurable() -> None:
    [rule] = [
        r
        for r in default_policy(repair_follow_up_rate=0.5).rules_for(work_order(), None)
        if r.name is ClockName.FOLLOW_UP
    ]

    assert 0.47 < sum(rule.samples(f"wo-{n}") for n in range(10_000)) / 10_000 < 0.53


def test_calendars_without_a_zone_follow_the_project_and_named_zones_stay() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    policy = default_policy().model_copy(
        update={
            "calendars": {
                **default_policy().calendars,
                "shanghai_office": BusinessCalendar.working_days(
                    [("09:00", "18:00")], tz="Asia/Shanghai"
                ),
            }
        }
    )

    zoned = policy.in_zone("Europe/Berlin")

    # Friday 17:00 in Berlin plus one working day (8 office hours): Monday 17:00 in Berlin.
    friday_5pm = datetime(2026, 3, 13, 17, 0, tzinfo=berlin)
    due = zoned.calendar("working_days").add(friday_5pm, timedelta(hours=8))
    assert due.astimezone(berlin) == datetime(2026, 3, 16, 17, 0, tzinfo=berlin)
    assert zoned.calendar("shanghai_office").time_zone == "Asia/Shanghai"
    assert policy.calendar("working_days").time_zone is None
    assert zoned.in_zone("Asia/Tokyo") is zoned  # every calendar names its zone now
