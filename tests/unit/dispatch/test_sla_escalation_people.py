"""SLA escalations to a role reach the people the roster has on duty for it."""

from __future__ import annotations

from datetime import timedelta

from services.dispatch.domain.calendar import BusinessCalendar
from services.dispatch.domain.roster import Roster, Shift
from services.dispatch.domain.sla_escalation_people import with_people_on_duty
from services.dispatch.domain.staff import Availability, StaffRole
from shared.events.sla import ClockName, EscalationRole, SlaEscalated

from .test_assignment_rules import NOW, member

STAFF = [
    member("t1"),
    member("boss-day", role=StaffRole.SUPERVISOR),
    member("boss-night", role=StaffRole.SUPERVISOR),
    member("boss-away", role=StaffRole.SUPERVISOR, availability=Availability.OFF),
]
# Day shift 08:00-20:00 Shanghai; 10:00 there at NOW.
DAY = Shift(
    name="day",
    team="supervisors",
    members=("boss-day",),
    calendar=BusinessCalendar.daily([("08:00", "20:00")]),
)
ROSTER = Roster(shifts=(DAY,), on_call=("hotline",))


def escalated(to_role: EscalationRole, to_person: str | None = None) -> SlaEscalated:
    return SlaEscalated(
        clock=ClockName.ARRIVAL,
        cycle=1,
        policy_version=1,
        elapsed_seconds=180.0,
        remaining_seconds=0.0,
        due_at=NOW,
        level=2,
        trigger="breach",
        to_role=to_role,
        to_person=to_person,
        scheduled_for=NOW,
        detected_at=NOW,
    )


def test_a_supervisor_step_goes_to_the_supervisor_whose_shift_is_on() -> None:
    event = with_people_on_duty(escalated(EscalationRole.SUPERVISOR), STAFF, ROSTER, NOW)

    assert (event.to_people, event.to_people_source) == (("boss-day",), "on_duty_supervisor")
    assert event.to_role is EscalationRole.SUPERVISOR


def test_outside_every_shift_the_on_call_list_is_told() -> None:
    night = NOW + timedelta(hours=12)  # 22:00 in Shanghai

    event = with_people_on_duty(escalated(EscalationRole.SUPERVISOR), STAFF, ROSTER, night)

    assert (event.to_people, event.to_people_source) == (("hotline",), "on_call")


def test_without_shifts_every_supervisor_on_duty_is_told() -> None:
    event = with_people_on_duty(escalated(EscalationRole.SUPERVISOR), STAFF, Roster(), NOW)

    assert (event.to_people, event.to_people_source) == (
        ("boss-day", "boss-night"),
        "on_duty_supervisor",
    )


def test_a_roster_naming_nobody_says_so() -> None:
    event = with_people_on_duty(escalated(EscalationRole.SUPERVISOR), [member("t1")], Roster(), NOW)

    assert (event.to_people, event.to_people_source) == ((), "none")


def test_a_named_person_and_roles_outside_the_roster_are_left_as_they_are() -> None:
    for event in (
        escalated(EscalationRole.SUPERVISOR, to_person="sup-chen"),
        escalated(EscalationRole.PROJECT_MANAGER),
        escalated(EscalationRole.ASSIGNEE),
        escalated(EscalationRole.OWNER),
    ):
        assert with_people_on_duty(event, STAFF, ROSTER, NOW) == event
