"""The lifecycle of a work order: which command is allowed from which status, and what it does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.dispatch.domain.commands import (
    WORK_ORDER_COMMANDS,
    AgreeArrivalDelay,
    Arrive,
    Assign,
    Cancel,
    ChangeUrgency,
    Close,
    Command,
    Complete,
    GiveFeedback,
    MakeCommitment,
    MarkComplaint,
    MissAppointment,
    Pause,
    Postpone,
    Reassign,
    RecordFollowUp,
    RecordNoVisitNeeded,
    Reopen,
    ReportProgress,
    Resume,
    ScheduleAppointment,
    StartWork,
    TransferOwner,
)
from services.dispatch.domain.workorder import (
    Actor,
    Status,
    UnfoldableEvent,
    decide,
    evolve,
    fold,
)
from shared.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from shared.events.workorder import (
    AppointmentMissed,
    AppointmentScheduled,
    ArrivalDelayAgreed,
    Arrived,
    Assigned,
    Cancelled,
    Closed,
    CommitmentMade,
    ComplaintValidityMarked,
    Completed,
    FeedbackGiven,
    FollowUpRecorded,
    NoVisitNeeded,
    OwnerTransferred,
    PauseReason,
    Postponed,
    PostponementOverrideGranted,
    ProgressReported,
    Reassigned,
    Reopened,
    UrgencyChanged,
    WorkOrderKind,
    WorkOrderReported,
    WorkPaused,
    WorkResumed,
    WorkStarted,
)

from .builders import (
    CUSTOMER_SERVICE,
    DISPATCHER,
    PROJECT_MANAGER,
    RESIDENT,
    SAMPLE_COMMANDS,
    SUPERVISOR,
    T0,
    TECHNICIAN,
    Story,
    order_in,
    report,
)

S = Status
OPEN = {S.REPORTED, S.ASSIGNED, S.ON_SITE, S.IN_PROGRESS, S.PAUSED}
NOT_ENDED = set(Status) - {S.CLOSED, S.CANCELLED}

# command -> (statuses it is allowed from for a repair, the event it emits, status after;
# None keeps the status).
LIFECYCLE: dict[type[Command], tuple[set[Status], type, Status | None]] = {
    TransferOwner: (NOT_ENDED, OwnerTransferred, None),
    Assign: ({S.REPORTED}, Assigned, S.ASSIGNED),
    Reassign: ({S.ASSIGNED, S.ON_SITE, S.IN_PROGRESS, S.PAUSED}, Reassigned, None),
    AgreeArrivalDelay: ({S.REPORTED, S.ASSIGNED}, ArrivalDelayAgreed, None),
    Arrive: ({S.ASSIGNED}, Arrived, S.ON_SITE),
    ScheduleAppointment: ({S.REPORTED, S.ASSIGNED}, AppointmentScheduled, None),
    MissAppointment: ({S.REPORTED, S.ASSIGNED}, AppointmentMissed, None),
    RecordNoVisitNeeded: ({S.REPORTED, S.ASSIGNED}, NoVisitNeeded, None),
    StartWork: ({S.ON_SITE}, WorkStarted, S.IN_PROGRESS),
    Pause: ({S.IN_PROGRESS}, WorkPaused, S.PAUSED),
    Resume: ({S.PAUSED}, WorkResumed, S.IN_PROGRESS),
    MakeCommitment: (OPEN, CommitmentMade, None),
    Postpone: (OPEN, Postponed, None),
    ReportProgress: (OPEN, ProgressReported, None),
    Complete: ({S.ON_SITE, S.IN_PROGRESS}, Completed, S.COMPLETED),
    GiveFeedback: (NOT_ENDED, FeedbackGiven, None),
    RecordFollowUp: ({S.COMPLETED}, FollowUpRecorded, None),
    Close: ({S.COMPLETED}, Closed, S.CLOSED),
    Reopen: ({S.COMPLETED, S.CLOSED}, Reopened, S.ASSIGNED),
    Cancel: (OPEN, Cancelled, S.CANCELLED),
    MarkComplaint: (set(Status) - {S.CANCELLED}, ComplaintValidityMarked, None),
    ChangeUrgency: (OPEN, UrgencyChanged, None),
}


def _prepared(command_type: type[Command], status: Status) -> Story:
    """A work order in `status` with what the command needs besides the status."""
    return order_in(
        status,
        WorkOrderKind.COMPLAINT
        if command_type in (MarkComplaint, RecordNoVisitNeeded)
        else WorkOrderKind.REPAIR,
        committed=command_type is Postpone,
        appointment=command_type is MissAppointment,
    )


CASES = [(c, s) for c in LIFECYCLE for s in Status]


def test_every_work_order_command_is_in_the_lifecycle_table() -> None:
    # Answering an offer depends on the open offers, not on the status alone; its rules
    # are specified in test_assignment_offers.py. Giving assigned work back is the
    # assigned technician's alone (test_assignment_return.py).
    answers = {
        WORK_ORDER_COMMANDS[name]
        for name in ("accept-offer", "decline-offer", "hand-back", "request-transfer")
    }
    assert set(WORK_ORDER_COMMANDS.values()) - answers == set(LIFECYCLE)


@pytest.mark.parametrize(
    ("command_type", "status"),
    [(c, s) for c, s in CASES if s in LIFECYCLE[c][0]],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_allowed_transition_emits_its_event(command_type: type[Command], status: Status) -> None:
    story = _prepared(command_type, status)
    version = story.current.version

    events = story.sample(command_type)

    _, event_type, status_after = LIFECYCLE[command_type]
    assert [type(e) for e in events] == [event_type]
    assert story.current.status is (status_after or status)
    assert story.current.version == version + 1


@pytest.mark.parametrize(
    ("command_type", "status"),
    [(c, s) for c, s in CASES if s not in LIFECYCLE[c][0]],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_refused_transition_names_the_current_status(
    command_type: type[Command], status: Status
) -> None:
    story = _prepared(command_type, status)
    command = SAMPLE_COMMANDS[command_type](story.now)

    with pytest.raises(InvalidTransition) as refused:
        decide(story.state, command, SUPERVISOR, story.now + timedelta(minutes=1))

    assert f"work order is '{status.value}'" in refused.value.message
    assert refused.value.extra["current_status"] == status.value
    assert refused.value.status == 409


def test_refusal_message_lists_the_statuses_it_is_allowed_from() -> None:
    story = order_in(Status.REPORTED)

    with pytest.raises(InvalidTransition) as refused:
        decide(story.state, Arrive(), SUPERVISOR, story.now)

    assert refused.value.message == (
        "cannot arrive: work order is 'reported' (allowed from: assigned)"
    )
    assert refused.value.code == "invalid_transition"
    assert refused.value.extra == {"current_status": "reported"}


def test_report_opens_a_work_order_owned_by_whoever_received_it() -> None:
    events = decide(None, report(), CUSTOMER_SERVICE, T0)

    assert len(events) == 1
    reported = events[0]
    assert isinstance(reported, WorkOrderReported)
    assert reported.owner == "cs-1"
    state = fold([(reported, T0)])
    assert state is not None
    assert state.status is Status.REPORTED
    assert state.owner == "cs-1"
    assert state.reported_at == T0
    assert state.version == 1
    assert state.assignee is None


def test_report_may_name_another_staff_member_as_owner() -> None:
    [reported] = decide(None, report(owner="cs-9"), DISPATCHER, T0)

    assert isinstance(reported, WorkOrderReported)
    assert reported.owner == "cs-9"


def test_resident_report_is_tied_to_their_login() -> None:
    [reported] = decide(None, report(resident_id=None), RESIDENT, T0, receiver="cs-li")

    assert isinstance(reported, WorkOrderReported)
    assert reported.reporter.resident_id == "res-1"
    assert reported.owner == "cs-li"


def test_reporting_an_existing_work_order_conflicts() -> None:
    story = order_in(Status.REPORTED)

    with pytest.raises(Conflict) as refused:
        decide(story.state, report(), CUSTOMER_SERVICE, story.now)

    assert refused.value.code == "work_order_exists"


def test_command_on_a_missing_work_order_is_not_found() -> None:
    with pytest.raises(NotFound) as refused:
        decide(None, Close(), SUPERVISOR, T0)

    assert refused.value.code == "unknown_work_order"


def test_ownership_moves_only_by_explicit_transfer() -> None:
    story = order_in(Status.ASSIGNED)

    [event] = story.do(TransferOwner(to_owner="cs-2", reason="shift change"), CUSTOMER_SERVICE)

    assert event == OwnerTransferred(from_owner="cs-1", to_owner="cs-2", reason="shift change")
    assert story.current.owner == "cs-2"


def test_transfer_to_the_current_owner_is_refused() -> None:
    story = order_in(Status.REPORTED)

    with pytest.raises(InvalidInput) as refused:
        story.do(TransferOwner(to_owner="cs-1", reason="no-op"), CUSTOMER_SERVICE)

    assert refused.value.code == "same_owner"


def test_assign_sets_the_technician() -> None:
    story = order_in(Status.REPORTED)

    story.do(Assign(assignee="tech-1"), DISPATCHER)

    assert story.current.assignee == "tech-1"
    assert story.current.status is Status.ASSIGNED


def test_reassign_moves_the_work_to_another_technician_keeping_the_status() -> None:
    story = order_in(Status.IN_PROGRESS)

    [event] = story.do(Reassign(to_assignee="tech-2", reason="needs an electrician"), DISPATCHER)

    assert event == Reassigned(
        from_assignee="tech-1", to_assignee="tech-2", reason="needs an electrician"
    )
    assert story.current.assignee == "tech-2"
    assert story.current.status is Status.IN_PROGRESS


def test_reassign_to_the_same_technician_is_refused() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(InvalidInput) as refused:
        story.do(Reassign(to_assignee="tech-1", reason="again"), DISPATCHER)

    assert refused.value.code == "same_assignee"


def test_arrival_names_the_technician_who_came() -> None:
    story = order_in(Status.ASSIGNED)

    [event] = story.do(Arrive(), TECHNICIAN)

    assert event == Arrived(technician="tech-1")
    assert story.current.arrived_at == story.now
    assert story.current.status is Status.ON_SITE


def test_arrival_recorded_by_a_supervisor_names_the_assigned_technician() -> None:
    story = order_in(Status.ASSIGNED)

    [event] = story.do(Arrive(), SUPERVISOR)

    assert event == Arrived(technician="tech-1")


def test_arrival_delay_agreed_with_the_resident_sets_the_new_arrival_time() -> None:
    story = order_in(Status.ASSIGNED)
    agreed = story.now + timedelta(minutes=40)

    story.do(AgreeArrivalDelay(agreed_arrival_at=agreed, reason="stuck in a lift"), TECHNICIAN)

    assert story.current.agreed_arrival_at == agreed


def test_arrival_delay_in_the_past_is_refused() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(InvalidInput) as refused:
        story.do(
            AgreeArrivalDelay(agreed_arrival_at=story.now, reason="late"),
            CUSTOMER_SERVICE,
            after=timedelta(0),
        )

    assert refused.value.code == "not_in_future"


def test_missed_appointment_clears_it_so_the_resident_rebooks() -> None:
    story = order_in(Status.ASSIGNED)
    booked = story.now + timedelta(hours=3)
    story.do(ScheduleAppointment(appointment_at=booked), RESIDENT)

    [missed] = story.do(MissAppointment(note="notice on the door"), TECHNICIAN, timedelta(hours=3))

    assert missed == AppointmentMissed(appointment_at=booked, note="notice on the door")
    assert story.current.appointment_at is None
    rebooked = story.now + timedelta(days=1)
    story.do(ScheduleAppointment(appointment_at=rebooked), RESIDENT)
    assert story.current.appointment_at == rebooked


def test_missing_an_appointment_that_was_never_booked_is_refused() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(InvalidTransition) as refused:
        story.do(MissAppointment(), TECHNICIAN)

    assert refused.value.code == "no_appointment"
    assert refused.value.extra["current_status"] == "assigned"


def test_appointment_in_the_past_is_refused() -> None:
    story = order_in(Status.REPORTED)

    with pytest.raises(InvalidInput) as refused:
        story.do(ScheduleAppointment(appointment_at=T0), CUSTOMER_SERVICE)

    assert refused.value.code == "not_in_future"


def test_pause_records_the_reason_and_resume_clears_it() -> None:
    story = order_in(Status.IN_PROGRESS)

    story.do(Pause(reason=PauseReason.RESIDENT_ASKED_TO_WAIT), TECHNICIAN)
    assert story.current.pause_reason is PauseReason.RESIDENT_ASKED_TO_WAIT

    story.do(Resume(), TECHNICIAN)
    assert story.current.pause_reason is None
    assert story.current.status is Status.IN_PROGRESS


@pytest.mark.parametrize("kind", [WorkOrderKind.COMPLAINT, WorkOrderKind.SUGGESTION])
@pytest.mark.parametrize("status", [Status.REPORTED, Status.ASSIGNED])
def test_complaints_and_suggestions_complete_without_a_site_visit(
    kind: WorkOrderKind, status: Status
) -> None:
    story = order_in(status, kind)

    story.do(Complete(summary="explained the parking rules"), SUPERVISOR)

    assert story.current.status is Status.COMPLETED
    assert story.current.completed_at == story.now


@pytest.mark.parametrize("kind", [WorkOrderKind.REPAIR, WorkOrderKind.CLEANING])
def test_repairs_and_cleaning_complete_only_on_site(kind: WorkOrderKind) -> None:
    story = order_in(Status.ASSIGNED, kind)

    with pytest.raises(InvalidTransition) as refused:
        story.do(Complete(summary="done"), SUPERVISOR)

    assert refused.value.message == (
        "cannot complete: work order is 'assigned' (allowed from: on_site, in_progress)"
    )


def test_follow_up_records_the_residents_rating() -> None:
    story = order_in(Status.COMPLETED)

    story.do(RecordFollowUp(rating=4, comment="基本满意"), RESIDENT)

    assert story.current.last_rating == 4


def test_feedback_is_recorded_with_its_time() -> None:
    story = order_in(Status.IN_PROGRESS)

    story.do(GiveFeedback(message="parts arrive tomorrow"), CUSTOMER_SERVICE)

    assert story.current.last_feedback_at == story.now


def test_progress_report_is_recorded_with_its_time() -> None:
    story = order_in(Status.PAUSED)

    story.do(ReportProgress(note="waiting for the waterproofing"), CUSTOMER_SERVICE)

    assert story.current.last_progress_at == story.now


# Commitments (承诺时间) -------------------------------------------------------------------


def test_commitment_within_seven_days_is_accepted() -> None:
    story = order_in(Status.ASSIGNED)
    due = story.now + timedelta(days=7, minutes=1)

    [event] = story.do(MakeCommitment(due_at=due), CUSTOMER_SERVICE)

    assert event == CommitmentMade(due_at=due, approved_by=None)
    assert story.current.commitment_due_at == due


def test_commitment_beyond_seven_days_is_refused() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(InvalidInput) as refused:
        decide(
            story.state,
            MakeCommitment(due_at=story.now + timedelta(days=7, seconds=1)),
            CUSTOMER_SERVICE,
            story.now,
        )

    assert refused.value.code == "commitment_too_far"


@pytest.mark.parametrize("manager", [SUPERVISOR, PROJECT_MANAGER])
def test_commitment_beyond_seven_days_with_a_managers_override_is_approved_by_them(
    manager: Actor,
) -> None:
    story = order_in(Status.ASSIGNED)
    due = story.now + timedelta(days=20)

    [event] = story.do(
        MakeCommitment(due_at=due, override_reason="waterproofing needs 3 weeks"),
        manager,
        after=timedelta(0),
    )

    assert event == CommitmentMade(due_at=due, approved_by=manager.subject)


def test_commitment_override_by_customer_service_is_forbidden() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(Forbidden) as refused:
        story.do(
            MakeCommitment(due_at=story.now + timedelta(days=20), override_reason="please"),
            CUSTOMER_SERVICE,
        )

    assert refused.value.code == "role_not_allowed"


def test_commitment_in_the_past_is_refused() -> None:
    story = order_in(Status.ASSIGNED)

    with pytest.raises(InvalidInput) as refused:
        story.do(MakeCommitment(due_at=story.now - timedelta(hours=1)), CUSTOMER_SERVICE)

    assert refused.value.code == "not_in_future"


def test_changing_a_commitment_must_go_through_postpone() -> None:
    story = order_in(Status.ASSIGNED, committed=True)

    with pytest.raises(InvalidTransition) as refused:
        story.do(MakeCommitment(due_at=story.now + timedelta(days=3)), CUSTOMER_SERVICE)

    assert refused.value.code == "commitment_exists"
    assert "postpone" in refused.value.message
    assert refused.value.extra["current_status"] == "assigned"


def test_decisions_use_the_given_time_not_the_wall_clock() -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    story = Story(now=long_ago)
    story.do(report(), CUSTOMER_SERVICE)

    story.do(MakeCommitment(due_at=long_ago + timedelta(days=1)), CUSTOMER_SERVICE)

    assert story.current.commitment_due_at == long_ago + timedelta(days=1)


# Postponements (不得出现同一件事情有两次推迟处理的情况) --------------------------------------


def _committed(due_in: timedelta = timedelta(days=2)) -> tuple[Story, datetime]:
    story = order_in(Status.IN_PROGRESS)
    due = story.now + due_in
    story.do(MakeCommitment(due_at=due), CUSTOMER_SERVICE, after=timedelta(0))
    return story, due


def test_first_postponement_before_the_deadline_is_accepted() -> None:
    story, due = _committed()
    new_due = due + timedelta(days=2)

    [event] = story.do(Postpone(new_due_at=new_due, reason="parts delayed"), TECHNICIAN)

    assert event == Postponed(
        previous_due_at=due, new_due_at=new_due, reason="parts delayed", postponement_number=1
    )
    assert story.current.commitment_due_at == new_due
    assert story.current.postponements == 1
    assert story.current.postponement_overrides == 0


def test_second_postponement_is_refused() -> None:
    story, due = _committed()
    story.do(Postpone(new_due_at=due + timedelta(days=1), reason="parts delayed"), TECHNICIAN)

    with pytest.raises(InvalidTransition) as refused:
        story.do(
            Postpone(new_due_at=due + timedelta(days=2), reason="parts delayed again"),
            CUSTOMER_SERVICE,
        )

    assert refused.value.code == "second_postponement"
    assert refused.value.status == 409
    assert "postponed once" in refused.value.message
    assert refused.value.extra["current_status"] == "in_progress"
    assert story.current.postponements == 1


@pytest.mark.parametrize("manager", [SUPERVISOR, PROJECT_MANAGER])
def test_second_postponement_with_a_managers_override_records_the_override_first(
    manager: Actor,
) -> None:
    story, due = _committed()
    first_due = due + timedelta(days=1)
    story.do(Postpone(new_due_at=first_due, reason="parts delayed"), TECHNICIAN)
    second_due = due + timedelta(days=3)
    version_before = story.current.version

    events = story.do(
        Postpone(new_due_at=second_due, reason="supplier closed", override_reason="holiday week"),
        manager,
    )

    subject = manager.subject
    assert events == [
        PostponementOverrideGranted(granted_by=subject, reason="holiday week"),
        Postponed(
            previous_due_at=first_due,
            new_due_at=second_due,
            reason="supplier closed",
            postponement_number=2,
        ),
    ]
    assert story.current.postponements == 2
    assert story.current.postponement_overrides == 1
    assert story.current.version == version_before + 2


def test_every_further_postponement_needs_its_own_override() -> None:
    story, due = _committed()
    story.do(Postpone(new_due_at=due + timedelta(days=1), reason="a"), TECHNICIAN)
    story.do(
        Postpone(new_due_at=due + timedelta(days=2), reason="b", override_reason="ok"), SUPERVISOR
    )

    with pytest.raises(InvalidTransition) as refused:
        story.do(Postpone(new_due_at=due + timedelta(days=3), reason="c"), SUPERVISOR)
    assert refused.value.code == "second_postponement"

    events = story.do(
        Postpone(new_due_at=due + timedelta(days=3), reason="c", override_reason="ok"), SUPERVISOR
    )
    assert [type(e) for e in events] == [PostponementOverrideGranted, Postponed]
    assert story.current.postponements == 3
    assert story.current.postponement_overrides == 2


def test_postponement_override_by_a_technician_is_forbidden() -> None:
    story, due = _committed()
    story.do(Postpone(new_due_at=due + timedelta(days=1), reason="parts delayed"), TECHNICIAN)

    with pytest.raises(Forbidden) as refused:
        story.do(
            Postpone(new_due_at=due + timedelta(days=2), reason="again", override_reason="please"),
            TECHNICIAN,
        )

    assert refused.value.code == "role_not_allowed"
    assert story.current.postponements == 1


def test_override_reason_on_a_first_postponement_is_not_recorded_as_an_override() -> None:
    story, due = _committed()

    events = story.do(
        Postpone(new_due_at=due + timedelta(days=1), reason="rain", override_reason="not needed"),
        SUPERVISOR,
    )

    assert [type(e) for e in events] == [Postponed]
    assert story.current.postponement_overrides == 0


def test_postponement_after_the_deadline_is_refused() -> None:
    story, due = _committed(timedelta(hours=4))

    with pytest.raises(InvalidTransition) as refused:
        story.do(
            Postpone(new_due_at=due + timedelta(days=1), reason="too late"),
            CUSTOMER_SERVICE,
            after=timedelta(hours=4),
        )

    assert story.now == due
    assert refused.value.code == "deadline_passed"
    assert "before the deadline" in refused.value.message


def test_postponement_must_move_the_promise_later() -> None:
    story, due = _committed()

    with pytest.raises(InvalidInput) as refused:
        story.do(Postpone(new_due_at=due, reason="same time"), CUSTOMER_SERVICE)

    assert refused.value.code == "not_later"


def test_postponement_without_a_commitment_is_refused() -> None:
    story = order_in(Status.IN_PROGRESS)

    with pytest.raises(InvalidTransition) as refused:
        story.do(Postpone(new_due_at=story.now + timedelta(days=1), reason="x"), CUSTOMER_SERVICE)

    assert refused.value.code == "no_commitment"


def test_postponement_beyond_seven_days_is_refused() -> None:
    story, due = _committed()

    with pytest.raises(InvalidInput) as refused:
        story.do(Postpone(new_due_at=due + timedelta(days=30), reason="import part"), TECHNICIAN)

    assert refused.value.code == "commitment_too_far"
    assert story.current.commitment_due_at == due
    assert story.current.postponements == 0


def test_postponement_up_to_seven_days_from_now_needs_no_override() -> None:
    story, _ = _committed()

    [event] = story.do(
        Postpone(new_due_at=story.now + timedelta(days=7), reason="parts"), CUSTOMER_SERVICE
    )

    assert isinstance(event, Postponed) and event.approved_by is None


@pytest.mark.parametrize("manager", [SUPERVISOR, PROJECT_MANAGER])
def test_postponement_beyond_seven_days_with_a_managers_override_is_approved_by_them(
    manager: Actor,
) -> None:
    story, due = _committed()
    far = due + timedelta(days=30)

    events = story.do(
        Postpone(new_due_at=far, reason="import part", override_reason="only supplier abroad"),
        manager,
    )

    assert events == [
        Postponed(
            previous_due_at=due,
            new_due_at=far,
            reason="import part",
            postponement_number=1,
            approved_by=manager.subject,
        )
    ]
    assert story.current.commitment_due_at == far


# Complaints (有效投诉) --------------------------------------------------------------------


def test_supervisor_rules_a_complaint_valid() -> None:
    story = order_in(Status.ASSIGNED, WorkOrderKind.COMPLAINT)

    story.do(MarkComplaint(valid=True, reason="noise after 22:00 confirmed"), SUPERVISOR)

    assert story.current.complaint_valid is True


def test_complaint_validity_may_be_ruled_on_after_closing() -> None:
    story = order_in(Status.CLOSED, WorkOrderKind.COMPLAINT)

    story.do(MarkComplaint(valid=False, reason="not our responsibility"), PROJECT_MANAGER)

    assert story.current.complaint_valid is False
    assert story.current.status is Status.CLOSED


def test_only_complaints_are_ruled_valid() -> None:
    story = order_in(Status.ASSIGNED, WorkOrderKind.REPAIR)

    with pytest.raises(InvalidInput) as refused:
        story.do(MarkComplaint(valid=True, reason="x"), SUPERVISOR)

    assert refused.value.code == "not_a_complaint"


# Reopening -----------------------------------------------------------------------------


def test_reopen_starts_a_new_cycle_with_the_same_technician() -> None:
    story = order_in(Status.ASSIGNED)
    story.do(ScheduleAppointment(appointment_at=story.now + timedelta(hours=1)), RESIDENT)
    story.do(MakeCommitment(due_at=story.now + timedelta(days=1)), CUSTOMER_SERVICE)
    story.do(Postpone(new_due_at=story.now + timedelta(days=2), reason="rain"), CUSTOMER_SERVICE)
    for command in (Arrive(), StartWork(), Complete(summary="sealed the window")):
        story.do(command, TECHNICIAN)
    story.do(RecordFollowUp(rating=5), RESIDENT)
    story.do(Close(), CUSTOMER_SERVICE)

    story.do(Reopen(reason="leaks again"), RESIDENT)

    state = story.current
    assert state.status is Status.ASSIGNED
    assert state.assignee == "tech-1"
    assert state.reopen_count == 1
    assert (state.arrived_at, state.appointment_at, state.commitment_due_at) == (None, None, None)
    assert (state.completed_at, state.closed_at) == (None, None)
    # The same matter stays postponed once: a new promise may not be postponed freely.
    assert state.postponements == 1
    assert state.last_rating == 5

    for command in (Arrive(), StartWork(), Complete(summary="replaced the seal")):
        story.do(command, TECHNICIAN)
    story.do(Close(), CUSTOMER_SERVICE)
    assert story.current.status is Status.CLOSED


def test_reopen_of_an_unassigned_complaint_returns_it_to_reported() -> None:
    story = order_in(Status.REPORTED, WorkOrderKind.COMPLAINT)
    story.do(Complete(summary="apologised"), SUPERVISOR)

    story.do(Reopen(reason="still noisy"), CUSTOMER_SERVICE)

    assert story.current.status is Status.REPORTED
    assert story.current.reopen_count == 1


def test_a_second_postponement_after_reopening_still_needs_an_override() -> None:
    story, due = _committed()
    story.do(Postpone(new_due_at=due + timedelta(days=1), reason="a"), TECHNICIAN)
    story.do(Complete(summary="done"), TECHNICIAN)
    story.do(Reopen(reason="broken again"), CUSTOMER_SERVICE)
    story.do(MakeCommitment(due_at=story.now + timedelta(days=1)), CUSTOMER_SERVICE)

    with pytest.raises(InvalidTransition) as refused:
        story.do(Postpone(new_due_at=story.now + timedelta(days=2), reason="b"), TECHNICIAN)

    assert refused.value.code == "second_postponement"


# State and folding -----------------------------------------------------------------------


def test_fold_of_the_history_equals_the_state_built_step_by_step() -> None:
    story = order_in(Status.CLOSED, committed=True, appointment=True)

    assert fold(story.history) == story.state
    assert story.current.version == len(story.history)


def test_fold_of_nothing_is_no_work_order() -> None:
    assert fold([]) is None


def test_a_stream_must_start_with_a_report() -> None:
    with pytest.raises(UnfoldableEvent):
        evolve(None, Closed(), T0)


def test_a_work_order_is_reported_only_once() -> None:
    story = order_in(Status.REPORTED)
    [reported, _] = story.history[0]

    with pytest.raises(UnfoldableEvent):
        evolve(story.state, reported, T0)


def test_summary_is_json_with_iso_times_and_enum_values() -> None:
    story = order_in(Status.PAUSED, committed=True)

    summary = story.current.summary()

    assert json.loads(json.dumps(summary)) == summary
    assert summary["status"] == "paused"
    assert summary["kind"] == "repair"
    assert summary["pause_reason"] == "waiting_for_parts"
    assert summary["owner"] == "cs-1"
    assert summary["assignee"] == "tech-1"
    assert summary["reported_at"] == "2024-05-01T02:01:00+00:00"
    assert summary["reporter"] == {
        "name": "王女士",
        "phone": "13800000000",
        "resident_id": "res-1",
        "resident": None,  # the domain folds a report as given; the service layer seals it
        "sealed": None,
    }
    assert summary["location"] == {"building": "3", "unit": "1202", "detail": None, "sealed": None}
    assert summary["version"] == story.current.version
    assert summary["postponements"] == 0
    assert summary["complaint_valid"] is None


# Requests settled without a visit (三分钟服务承诺 applies where someone must go) ----------


def test_customer_service_records_who_found_no_visit_needed_and_why() -> None:
    story = order_in(Status.REPORTED, WorkOrderKind.SUGGESTION)

    [event] = story.do(RecordNoVisitNeeded(reason="answered at the desk"), CUSTOMER_SERVICE)

    assert event == NoVisitNeeded(
        recorded_by=CUSTOMER_SERVICE.subject, reason="answered at the desk"
    )
    assert story.current.no_visit_needed_by == CUSTOMER_SERVICE.subject


def test_customer_service_may_complete_a_complaint_needing_no_visit() -> None:
    story = order_in(Status.ASSIGNED, WorkOrderKind.COMPLAINT)
    story.do(RecordNoVisitNeeded(reason="explained by phone"), CUSTOMER_SERVICE)

    [event] = story.do(Complete(summary="settled by phone"), CUSTOMER_SERVICE)

    assert isinstance(event, Completed)
    assert story.current.status is Status.COMPLETED


def test_customer_service_may_not_complete_a_complaint_that_may_need_a_visit() -> None:
    story = order_in(Status.ASSIGNED, WorkOrderKind.COMPLAINT)

    with pytest.raises(Forbidden) as refused:
        story.do(Complete(summary="settled by phone"), CUSTOMER_SERVICE)

    assert refused.value.code == "role_not_allowed"


def test_a_repair_always_needs_a_visit() -> None:
    story = order_in(Status.REPORTED, WorkOrderKind.REPAIR)

    with pytest.raises(InvalidInput) as refused:
        story.do(RecordNoVisitNeeded(reason="told them to wait"), CUSTOMER_SERVICE)

    assert refused.value.code == "visit_required"


def test_no_visit_needed_is_recorded_once() -> None:
    story = order_in(Status.REPORTED, WorkOrderKind.COMPLAINT)
    story.do(RecordNoVisitNeeded(reason="explained by phone"), CUSTOMER_SERVICE)

    with pytest.raises(InvalidTransition) as refused:
        story.do(RecordNoVisitNeeded(reason="again"), CUSTOMER_SERVICE)

    assert refused.value.code == "no_visit_already_recorded"
