"""首按责任制: a report a resident makes in the app is owned by an employee who hears of it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.dispatch.domain.assignment import (
    Availability,
    Roster,
    Shift,
    StaffMember,
    StaffRole,
    first_receiver,
)
from services.dispatch.domain.sla import BusinessCalendar
from services.dispatch.domain.workorder import decide
from shared.errors import Conflict
from shared.events.workorder import WorkOrderReported

from .builders import CUSTOMER_SERVICE, RESIDENT, T0, report
from .test_assignment_rules import member

NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
NIGHT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 02:00 in Shanghai
DESK = Shift(
    name="service desk",
    team="customer_service",
    members=("cs-li", "cs-zhang"),
    calendar=BusinessCalendar.model_validate(
        {"kind": "daily", "windows": [["07:00", "23:00"]], "time_zone": "Asia/Shanghai"}
    ),
    anchor=date(2026, 3, 1),
)


def desk(person: str, availability: Availability = Availability.ON_DUTY) -> StaffMember:
    return member(person, role=StaffRole.CUSTOMER_SERVICE, availability=availability)


def test_app_report_is_owned_by_customer_service_on_duty() -> None:
    staff = [desk("cs-li"), member("tech-wang"), desk("cs-off", Availability.OFF)]

    owner = first_receiver(staff, Roster(), "sunny", NOON, rotation_key=7)
    [reported] = decide(None, report(), RESIDENT, T0, receiver=owner)

    assert owner == "cs-li"
    assert isinstance(reported, WorkOrderReported)
    assert reported.owner == "cs-li"
    assert reported.reporter.resident_id == "res-1"


def test_app_reports_are_shared_by_the_customer_service_people_on_shift() -> None:
    roster = Roster(shifts=(DESK,))
    staff = [desk("cs-li"), desk("cs-zhang"), desk("cs-not-on-shift")]

    owners = {first_receiver(staff, roster, "sunny", NOON, key) for key in range(10)}

    assert owners == {"cs-li", "cs-zhang"}


def test_app_report_off_hours_is_owned_by_the_designated_receiver() -> None:
    roster = Roster(shifts=(DESK,), receiver="duty-manager")
    staff = [desk("cs-li"), desk("cs-zhang")]

    assert first_receiver(staff, roster, "sunny", NIGHT, rotation_key=0) == "duty-manager"


def test_customer_service_of_another_project_does_not_receive() -> None:
    staff = [member("cs-river", role=StaffRole.CUSTOMER_SERVICE, projects=("river",))]

    assert first_receiver(staff, Roster(), "sunny", NOON, rotation_key=0) is None


def test_app_report_is_never_owned_by_the_resident() -> None:
    with pytest.raises(Conflict) as refused:
        decide(None, report(), RESIDENT, T0, receiver=None)

    assert refused.value.code == "no_receiver"


def test_report_taken_by_staff_is_owned_by_whoever_took_it() -> None:
    [reported] = decide(None, report(), CUSTOMER_SERVICE, T0, receiver=None)

    assert isinstance(reported, WorkOrderReported)
    assert reported.owner == "cs-1"
