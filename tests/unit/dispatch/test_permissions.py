"""Who may do what to which work order, and who sees which orders."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.dispatch.domain.commands import (
    WORK_ORDER_COMMANDS,
    Arrive,
    Cancel,
    Close,
    Command,
    MakeCommitment,
    RecordFollowUp,
    RegisterProject,
    Reopen,
    ScheduleAppointment,
    UpdateProject,
)
from services.dispatch.domain.workorder import (
    Actor,
    Status,
    at_risk_scope,
    authorize,
    authorize_replay,
    can_read,
    decide,
    list_scope,
)
from shared.auth import Role
from shared.errors import Forbidden
from shared.events.project import ProjectDetails

from .builders import (
    CUSTOMER_SERVICE,
    DISPATCHER,
    HQ_QUALITY,
    INTEGRATOR,
    NOTIFIER,
    OTHER_RESIDENT,
    OTHER_TECHNICIAN,
    PRIVACY_OFFICER,
    PROJECT_MANAGER,
    RESIDENT,
    SAMPLE_COMMANDS,
    SUPERVISOR,
    T0,
    TECHNICIAN,
    order_in,
    report,
)

# The role matrix, written out independently of the code: the roles allowed each command
# on their own work order (res-1 reported it, tech-1 is assigned to it).
EVERYONE_WHO_MANAGES = {"supervisor", "project_manager"}
# Answering an offer is the offered technician's own act; nobody answers for them.
# So is giving assigned work back (退单, 转单): managers move work with reassign.
NOT_FOR_MANAGERS = {"accept-offer", "decline-offer", "hand-back", "request-transfer"}
ALLOWED_ROLES: dict[str, set[str]] = {
    "report": {"resident", "customer_service", "dispatcher"},
    "transfer-owner": {"customer_service", "dispatcher"},
    "assign": {"dispatcher"},
    "reassign": {"dispatcher"},
    "accept-offer": {"technician"},
    "decline-offer": {"technician"},
    "hand-back": {"technician"},
    "request-transfer": {"technician"},
    "agree-arrival-delay": {"technician", "dispatcher", "customer_service"},
    "arrive": {"technician"},
    "start-work": {"technician"},
    "pause": {"technician"},
    "resume": {"technician"},
    "complete": {"technician"},
    "schedule-appointment": {"resident", "customer_service", "dispatcher", "technician"},
    "miss-appointment": {"technician", "customer_service"},
    "record-no-visit-needed": {"customer_service"},
    "make-commitment": {"customer_service", "dispatcher", "technician"},
    "postpone": {"customer_service", "dispatcher", "technician"},
    "report-progress": {"customer_service", "dispatcher", "technician"},
    "give-feedback": {"customer_service"},
    "record-follow-up": {"customer_service", "resident"},
    "close": {"customer_service"},
    "reopen": {"customer_service", "resident"},
    "cancel": {"customer_service", "dispatcher", "resident"},
    "mark-complaint": set(),
    "change-urgency": {"customer_service", "dispatcher"},
}
OWN_ONLY: dict[str, set[str]] = {
    "accept-offer": {"technician"},
    "decline-offer": {"technician"},
    "hand-back": {"technician"},
    "request-transfer": {"technician"},
    "agree-arrival-delay": {"technician"},
    "arrive": {"technician"},
    "start-work": {"technician"},
    "pause": {"technician"},
    "resume": {"technician"},
    "complete": {"technician"},
    "schedule-appointment": {"resident", "technician"},
    "miss-appointment": {"technician"},
    "make-commitment": {"technician"},
    "postpone": {"technician"},
    "report-progress": {"technician"},
    "record-follow-up": {"resident"},
    "reopen": {"resident"},
    "cancel": {"resident"},
}
OWN_ACTORS = {
    Role.RESIDENT: RESIDENT,
    Role.CUSTOMER_SERVICE: CUSTOMER_SERVICE,
    Role.DISPATCHER: DISPATCHER,
    Role.TECHNICIAN: TECHNICIAN,
    Role.SUPERVISOR: SUPERVISOR,
    Role.PROJECT_MANAGER: PROJECT_MANAGER,
    Role.HQ_QUALITY: HQ_QUALITY,
    Role.INTEGRATOR: INTEGRATOR,
    Role.PRIVACY_OFFICER: PRIVACY_OFFICER,
    Role.NOTIFIER: NOTIFIER,
}
STRANGERS = {Role.RESIDENT: OTHER_RESIDENT, Role.TECHNICIAN: OTHER_TECHNICIAN}

# An assigned order reported by res-1: every role's "own" case holds and residents may cancel.
ASSIGNED = order_in(Status.ASSIGNED).current


def _sample(name: str) -> Command:
    return SAMPLE_COMMANDS[WORK_ORDER_COMMANDS[name]](T0)


def test_the_matrix_covers_every_work_order_command() -> None:
    assert set(ALLOWED_ROLES) == {"report", *WORK_ORDER_COMMANDS}


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("name", sorted(WORK_ORDER_COMMANDS))
def test_role_matrix_on_own_work_orders(name: str, role: Role) -> None:
    managers = set() if name in NOT_FOR_MANAGERS else EVERYONE_WHO_MANAGES
    allowed = role.value in ALLOWED_ROLES[name] | managers
    command = _sample(name)

    if allowed:
        authorize(command, OWN_ACTORS[role], ASSIGNED)
    else:
        with pytest.raises(Forbidden) as refused:
            authorize(command, OWN_ACTORS[role], ASSIGNED)
        assert refused.value.code == "role_not_allowed"
        assert refused.value.status == 403


@pytest.mark.parametrize(
    ("name", "role"),
    [(name, Role(role)) for name, roles in OWN_ONLY.items() for role in sorted(roles)],
    ids=str,
)
def test_own_only_commands_are_refused_on_someone_elses_work_order(name: str, role: Role) -> None:
    with pytest.raises(Forbidden) as refused:
        authorize(_sample(name), STRANGERS[role], ASSIGNED)

    assert refused.value.code == "not_your_work_order"


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_report_roles(role: Role) -> None:
    allowed = role.value in ALLOWED_ROLES["report"] | EVERYONE_WHO_MANAGES
    if allowed:
        authorize(report(), OWN_ACTORS[role], None)
    else:
        with pytest.raises(Forbidden):
            authorize(report(), OWN_ACTORS[role], None)


@pytest.mark.parametrize("read_only", [HQ_QUALITY, INTEGRATOR])
@pytest.mark.parametrize("name", sorted(WORK_ORDER_COMMANDS))
def test_hq_quality_and_integrators_give_no_work_order_commands(
    name: str, read_only: Actor
) -> None:
    with pytest.raises(Forbidden):
        authorize(_sample(name), read_only, ASSIGNED)


def test_permission_is_checked_before_the_status() -> None:
    closed = order_in(Status.CLOSED).current

    with pytest.raises(Forbidden):
        decide(closed, Close(), TECHNICIAN, T0)


def test_resident_may_not_report_in_someone_elses_name() -> None:
    with pytest.raises(Forbidden) as refused:
        decide(None, report(resident_id="res-2"), RESIDENT, T0)

    assert refused.value.code == "not_your_work_order"


def test_resident_may_not_choose_the_owner() -> None:
    with pytest.raises(Forbidden) as refused:
        decide(None, report(owner="cs-1"), RESIDENT, T0)

    assert refused.value.code == "role_not_allowed"


@pytest.mark.parametrize("status", [Status.REPORTED, Status.ASSIGNED])
def test_resident_cancels_their_own_order_before_work_starts(status: Status) -> None:
    story = order_in(status)

    story.do(Cancel(reason="fixed it myself"), RESIDENT)

    assert story.current.status is Status.CANCELLED


@pytest.mark.parametrize("status", [Status.ON_SITE, Status.IN_PROGRESS, Status.PAUSED])
def test_resident_may_not_cancel_once_someone_is_on_site(status: Status) -> None:
    story = order_in(status)

    with pytest.raises(Forbidden) as refused:
        story.do(Cancel(reason="changed my mind"), RESIDENT)

    assert refused.value.code == "role_not_allowed"
    assert f"'{status.value}'" in refused.value.message


def test_resident_rates_their_own_completed_order() -> None:
    story = order_in(Status.COMPLETED)

    story.do(RecordFollowUp(rating=2, comment="slow"), RESIDENT)

    assert story.current.last_rating == 2


def test_resident_may_not_rate_someone_elses_order() -> None:
    story = order_in(Status.COMPLETED)

    with pytest.raises(Forbidden) as refused:
        story.do(RecordFollowUp(rating=1), OTHER_RESIDENT)

    assert refused.value.code == "not_your_work_order"


def test_resident_reopens_their_own_order() -> None:
    story = order_in(Status.CLOSED)

    story.do(Reopen(reason="leaks again"), RESIDENT)

    assert story.current.status is Status.ASSIGNED


def test_resident_rebooks_their_own_appointment() -> None:
    story = order_in(Status.REPORTED)
    booked = story.now + timedelta(days=1)

    story.do(ScheduleAppointment(appointment_at=booked), RESIDENT)

    assert story.current.appointment_at == booked


def test_technician_acts_only_on_orders_assigned_to_them() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(Forbidden) as refused:
        story.do(SAMPLE_COMMANDS[WORK_ORDER_COMMANDS["arrive"]](story.now), OTHER_TECHNICIAN)

    assert refused.value.code == "not_your_work_order"


def test_technician_may_not_give_an_override_reason() -> None:
    with pytest.raises(Forbidden) as refused:
        authorize(
            MakeCommitment(due_at=T0 + timedelta(days=1), override_reason="trust me"),
            TECHNICIAN,
            ASSIGNED,
        )

    assert refused.value.code == "role_not_allowed"


PROJECT_DETAILS = ProjectDetails(name="阳光花园", households=1200)


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize(
    "command",
    [
        RegisterProject(project="sunny-garden", details=PROJECT_DETAILS),
        UpdateProject(details=PROJECT_DETAILS),
    ],
    ids=["register", "update"],
)
def test_only_project_managers_and_hq_quality_keep_the_project_registry(
    command: Command, role: Role
) -> None:
    if role in {Role.PROJECT_MANAGER, Role.HQ_QUALITY}:
        authorize(command, OWN_ACTORS[role], None)
    else:
        with pytest.raises(Forbidden):
            authorize(command, OWN_ACTORS[role], None)


# Reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "readable"),
    [
        (RESIDENT, True),
        (OTHER_RESIDENT, False),
        (TECHNICIAN, True),
        (OTHER_TECHNICIAN, False),
        (Actor("cs-1", Role.TECHNICIAN), True),  # owns it
        (CUSTOMER_SERVICE, True),
        (DISPATCHER, True),
        (SUPERVISOR, True),
        (PROJECT_MANAGER, True),
        (HQ_QUALITY, True),
        (INTEGRATOR, True),
        (NOTIFIER, False),  # notify's identity reads residents' contacts, nothing else
    ],
    ids=lambda v: v.subject if isinstance(v, Actor) else str(v),
)
def test_who_may_read_a_work_order(actor: Actor, readable: bool) -> None:
    assert can_read(actor, ASSIGNED) is readable


def test_anonymous_reporter_is_visible_to_no_resident() -> None:
    anonymous = replace(
        ASSIGNED, reporter=ASSIGNED.reporter.model_copy(update={"resident_id": None})
    )

    assert can_read(RESIDENT, anonymous) is False
    assert can_read(CUSTOMER_SERVICE, anonymous) is True


@pytest.mark.parametrize(
    ("actor", "scope"),
    [
        (RESIDENT, ("reporter_resident_id", "res-1")),
        (TECHNICIAN, ("assignee", "tech-1")),
        (CUSTOMER_SERVICE, None),
        (DISPATCHER, None),
        (SUPERVISOR, None),
        (PROJECT_MANAGER, None),
        (HQ_QUALITY, None),
        (INTEGRATOR, None),
    ],
    ids=lambda v: v.role.value if isinstance(v, Actor) else str(v),
)
def test_list_scope_limits_residents_and_technicians(
    actor: Actor, scope: tuple[str, str] | None
) -> None:
    assert list_scope(actor) == scope


def test_a_technician_sees_at_risk_only_their_assignments_and_project_roles_their_projects() -> (
    None
):
    assert at_risk_scope(Actor("tech-wang", Role.TECHNICIAN)) == ("assignee", "tech-wang")
    for role in set(Role) - {Role.TECHNICIAN, Role.RESIDENT}:
        assert at_risk_scope(Actor("someone", role)) is None


def test_a_replay_still_needs_a_role_that_may_give_the_command() -> None:
    authorize_replay(Arrive(), Actor("tech-wang", Role.TECHNICIAN))
    with pytest.raises(Forbidden) as refused:
        authorize_replay(Arrive(), Actor("hq-1", Role.HQ_QUALITY))
    assert refused.value.code == "role_not_allowed"
