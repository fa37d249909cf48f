"""SLA escalations to a role reach the people the staff directory names for it: the
supervisors the roster has on duty, the project managers of the order's project."""

from __future__ import annotations

from datetime import timedelta

from services.dispatch.domain.assignment import (
    Availability,
    Roster,
    Shift,
    StaffMember,
    StaffRole,
    with_people_on_duty,
)
from services.dispatch.domain.sla import BusinessCalendar
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
    event = with_people_on_duty(escalated(EscalationRole.SUPERVISOR), STAFF, ROSTER, "sunny", NOW)

    assert (event.to_people, event.to_people_source) == (("boss-day",), "on_duty_supervisor")
    assert event.to_role is EscalationRole.SUPERVISOR


def test_outside_every_shift_the_on_call_list_is_told() -> None:
    night = NOW + timedelta(hours=12)  # 22:00 in Shanghai

    event = with_people_on_duty(escalated(EscalationRole.SUPERVISOR), STAFF, ROSTER, "sunny", night)

    assert (event.to_people, event.to_people_source) == (("hotline",), "on_call")


def test_without_shifts_every_supervisor_on_duty_is_told() -> None:
    event = with_people_on_duty(escalated(EscalationRole.SUPERVISOR), STAFF, Roster(), "sunny", NOW)

    assert (event.to_people, event.to_people_source) == (
        ("boss-day", "boss-night"),
        "on_duty_supervisor",
    )


def test_a_roster_naming_nobody_says_so() -> None:
    event = with_people_on_duty(
        escalated(EscalationRole.SUPERVISOR), [member("t1")], Roster(), "sunny", NOW
    )

    assert (event.to_people, event.to_people_source) == ((), "none")


def test_a_named_person_and_the_orders_own_people_are_left_as_they_are() -> None:
    for event in (
        escalated(EscalationRole.SUPERVISOR, to_person="sup-chen"),
        escalated(EscalationRole.PROJECT_MANAGER, to_person="pm-zhou"),
        escalated(EscalationRole.ASSIGNEE),
        escalated(EscalationRole.OWNER),
    ):
        assert with_people_on_duty(event, STAFF + MANAGERS, ROSTER, "sunny", NOW) == event


def manager(staff_id: str, *, projects: tuple[str, ...], off: bool = False) -> StaffMember:
    availability = Availability.OFF if off else Availability.ON_DUTY
    return member(
        staff_id,
        role=StaffRole.PROJECT_MANAGER,
        trades=(),
        projects=projects,
        availability=availability,
    )


MANAGERS = [
    manager("pm-zhou", projects=("sunny",)),
    manager("pm-both", projects=("sunny", "river")),
    manager("pm-river", projects=("river",)),
    manager("pm-away", projects=("sunny",), off=True),
]


def test_a_project_manager_step_goes_to_the_projects_managers_not_off() -> None:
    event = with_people_on_duty(
        escalated(EscalationRole.PROJECT_MANAGER), STAFF + MANAGERS, ROSTER, "sunny", NOW
    )

    assert (event.to_people, event.to_people_source) == (
        ("pm-both", "pm-zhou"),
        "project_managers",
    )


def test_project_managers_work_no_shifts_so_the_hour_does_not_matter() -> None:
    night = NOW + timedelta(hours=12)  # 22:00 in Shanghai: no supervisor shift on

    event = with_people_on_duty(
        escalated(EscalationRole.PROJECT_MANAGER), STAFF + MANAGERS, ROSTER, "river", night
    )

    assert (event.to_people, event.to_people_source) == (
        ("pm-both", "pm-river"),
        "project_managers",
    )


def test_when_every_project_manager_is_off_they_are_all_told() -> None:
    away = [
        manager("pm-b", projects=("sunny",), off=True),
        manager("pm-a", projects=("sunny",), off=True),
    ]

    event = with_people_on_duty(
        escalated(EscalationRole.PROJECT_MANAGER), STAFF + away, ROSTER, "sunny", NOW
    )

    assert (event.to_people, event.to_people_source) == (("pm-a", "pm-b"), "project_managers")


def test_a_directory_without_the_projects_managers_names_nobody() -> None:
    # Supervisors and the on-call list are not project managers: the receivers' own
    # contact lists answer for the role then.
    others = [*STAFF, manager("pm-river", projects=("river",))]

    event = with_people_on_duty(
        escalated(EscalationRole.PROJECT_MANAGER), others, ROSTER, "sunny", NOW
    )

    assert (event.to_people, event.to_people_source) == ((), "none")
