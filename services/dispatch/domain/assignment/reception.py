"""Who receives a resident's own report (首按责任制: the first receiver owns it).

The owner of a work order answers to the resident for it until the resident is
satisfied, so the owner is always an employee. A report made over the phone, at the
desk or on a patrol is owned by the staff member who took it. A report a resident makes
in the app was taken by nobody yet: it is owned by the customer-service person on duty
for the project (the roster's shifts; a project without shifts relies on availability),
else by the project's designated receiver (the roster's `receiver`). The seed's words:
"每一位员工都有责任和义务接待客户的建议 …… 第一接待人负责跟踪这项服务建议处理的情况直至客户满意为止".

Pure: the directory and roster arrive as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.dispatch.domain.assignment.roster import Roster
from services.dispatch.domain.assignment.staff import Availability, StaffMember, StaffRole


def customer_service_on_duty(
    staff: Iterable[StaffMember], roster: Roster, project: str, at: datetime
) -> list[str]:
    """The customer-service people on duty for `project` at `at`, by id.

    On duty means `on_duty` availability and, when the project has shifts, a shift that
    has them on now (the same two conditions as for technicians).
    """
    shifts = roster.on_duty(at) if roster.shifts else None
    return sorted(
        member.id
        for member in staff
        if member.record.role is StaffRole.CUSTOMER_SERVICE
        and member.covers(project, None)
        and member.availability is Availability.ON_DUTY
        and (shifts is None or member.id in shifts)
    )


def first_receiver(
    staff: Iterable[StaffMember], roster: Roster, project: str, at: datetime, rotation_key: int
) -> str | None:
    """The owner of a report a resident made in the app, or None when nobody receives it.

    The customer-service people on duty take such reports in turn (`rotation_key`, the
    order id's bits, picks one, so the reports of a busy hour are spread over the desk);
    with nobody on duty the project's designated receiver takes it.
    """
    on_duty = customer_service_on_duty(staff, roster, project, at)
    if on_duty:
        return on_duty[rotation_key % len(on_duty)]
    return roster.receiver
