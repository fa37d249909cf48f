"""The supervisor's configuration forms read back into the services' bodies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.console.domain import setup_forms as forms

DAILY = {
    "kind": "daily",
    "time_zone": "Asia/Urumqi",
    "windows": [["07:00", "23:00"]],
    "closures": ["2026-10-01"],
}
ROSTER = {
    "shifts": [
        {"name": "day", "team": "maintenance", "members": ["tech-wang"], "calendar": DAILY},
        {"name": "night", "team": "maintenance", "members": ["tech-zhao"]},
    ],
    "on_call": [],
    "receiver": None,
}


def test_only_ticked_boxes_of_the_group_are_read() -> None:
    form = {"trade-plumbing": "on", "trade-electrical": "", "project-sunny": "on"}

    assert forms.checked(form, "trade") == ["plumbing"]


def test_a_person_needs_a_project_of_the_users() -> None:
    form = {"name": "李", "role": "technician", "team": "maintenance", "project-river": "on"}

    with pytest.raises(forms.FormProblem) as refused:
        forms.staff_record(form, ["maintenance"], ["sunny"])

    assert (refused.value.field, refused.value.code) == ("projects", "tick_project")


def test_a_persons_load_limit_is_a_number_in_range() -> None:
    form = {
        "name": "李",
        "role": "technician",
        "team": "maintenance",
        "project-sunny": "on",
        "max_open_orders": "101",
    }

    with pytest.raises(forms.FormProblem) as refused:
        forms.staff_record(form, ["maintenance"], ["sunny"])

    assert refused.value.params == {"low": 1, "high": 100}
    record = forms.staff_record({**form, "max_open_orders": "4"}, ["maintenance"], ["sunny"])
    assert record["max_open_orders"] == 4 and record["projects"] == ["sunny"]


def test_a_roster_keeps_what_the_form_does_not_show_and_drops_a_removed_shift() -> None:
    form = {
        "shift0-name": "day",
        "shift0-team": "maintenance",
        "shift0-member-tech-wang": "on",
        "shift0-kind": "daily",
        "shift0-start1": "08:00",
        "shift0-end1": "20:00",
        "shift0-cycle_days": "2",
        "shift0-day-1": "on",
        "shift1-name": "night",
        "shift1-team": "maintenance",
        "shift1-member-tech-zhao": "on",
        "shift1-kind": "always",
        "shift1-remove": "on",
        "shift2-name": "",
        "oncall-tech-wang": "on",
    }

    roster = forms.roster(form, ["maintenance"], ROSTER)

    [day] = roster["shifts"]
    assert day["calendar"] == {**DAILY, "windows": [["08:00", "20:00"]]}
    assert (day["cycle_days"], day["on_days"]) == (2, [1])
    assert roster["on_call"] == ["tech-wang"] and roster["receiver"] is None


def test_a_daily_shift_needs_its_hours() -> None:
    form = {
        "shift0-name": "day",
        "shift0-team": "maintenance",
        "shift0-member-tech-wang": "on",
        "shift0-kind": "daily",
    }

    with pytest.raises(forms.FormProblem) as refused:
        forms.roster(form, ["maintenance"], {})

    assert refused.value.code == "shift_hours"


POLICY = {
    "version": 3,
    "projects": ["sunny"],
    "calendars": {"24x7": {"kind": "always"}, "working_days": {"kind": "working_days"}},
    "clocks": [
        {"name": "arrival", "calendar": "24x7", "target": "PT3M", "urgent_target": None},
        {"name": "resolution", "calendar": "24x7", "target": "commitment", "urgent_target": None},
    ],
    "warning_thresholds": [0.5, 0.8],
    "escalation": [{"trigger": "breach"}],
}


def test_the_draft_is_the_current_policy_with_the_forms_targets() -> None:
    form = {
        "rule0-calendar": "working_days",
        "rule0-hours": "1",
        "rule0-minutes": "30",
        "rule0-urgenthours": "",
        "rule0-urgentminutes": "20",
        "rule1-calendar": "24x7",
        "warning0": "90",
        "warning1": "60",
    }

    draft = forms.sla_draft(form, POLICY, ["sunny", "river"])

    arrival, resolution = draft["clocks"]
    assert (arrival["calendar"], arrival["target"], arrival["urgent_target"]) == (
        "working_days",
        "PT1H30M",
        "PT0H20M",
    )
    assert resolution["target"] == "commitment"
    assert draft["warning_thresholds"] == [0.6, 0.9]
    assert draft["escalation"] == POLICY["escalation"]
    assert "version" not in draft and "projects" not in draft
    scoped = forms.sla_draft({**form, "project-river": "on"}, POLICY, ["sunny", "river"])
    assert scoped["projects"] == ["river"]


def test_a_target_of_zero_is_refused() -> None:
    form = {"rule0-calendar": "24x7", "rule0-hours": "0", "rule0-minutes": "0"}

    with pytest.raises(forms.FormProblem) as refused:
        forms.sla_draft(form, POLICY, [])

    assert (refused.value.field, refused.value.code) == ("rule0-hours", "positive_target")


@pytest.mark.parametrize(
    ("written", "shown"),
    [("PT3M", ("0", "3")), ("P2D", ("48", "0")), ("PT1H30M", ("1", "30")), (None, ("", ""))],
)
def test_an_apis_duration_is_shown_as_hours_and_minutes(
    written: str | None, shown: tuple[str, str]
) -> None:
    assert forms.hours_minutes(written) == shown


def test_an_iso_duration_round_trips() -> None:
    assert forms.parse_duration(forms.iso_duration(timedelta(hours=26, minutes=5))) == timedelta(
        hours=26, minutes=5
    )


def test_notify_settings_need_a_day_that_ends_after_it_starts() -> None:
    current = {"digest": {"threshold": 5, "window_seconds": 300}, "operator": None}
    form = {"day_start": "21:00", "day_end": "08:00", "resident-sms": "on"}

    with pytest.raises(forms.FormProblem) as refused:
        forms.notify_settings(form, current, ["sms"])

    assert refused.value.code == "time_window"
    fine = {**form, "day_start": "08:00", "day_end": "21:00", "resident_language": "en"}
    body = forms.notify_settings(fine, current, ["sms"])
    assert body["digest"] == current["digest"] and body["quiet_hours"]["blocked"] == []
