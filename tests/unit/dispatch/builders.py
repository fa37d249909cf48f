"""Builders for domain tests: people, sample commands, and work orders in any status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.dispatch.domain.commands import (
    AcceptOffer,
    AgreeArrivalDelay,
    Arrive,
    Assign,
    Cancel,
    ChangeUrgency,
    Close,
    Command,
    Complete,
    DeclineOffer,
    GiveFeedback,
    HandBack,
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
    ReportWorkOrder,
    RequestTransfer,
    Resume,
    ScheduleAppointment,
    StartWork,
    TransferOwner,
)
from services.dispatch.domain.workorder import Actor, Status, WorkOrderState, decide, evolve
from shared.auth import Role
from shared.events.base import EventData
from shared.events.workorder import (
    Channel,
    Location,
    PauseReason,
    Reporter,
    Urgency,
    WorkOrderKind,
)

T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)

RESIDENT = Actor("res-1", Role.RESIDENT)
OTHER_RESIDENT = Actor("res-2", Role.RESIDENT)
CUSTOMER_SERVICE = Actor("cs-1", Role.CUSTOMER_SERVICE)
DISPATCHER = Actor("disp-1", Role.DISPATCHER)
TECHNICIAN = Actor("tech-1", Role.TECHNICIAN)
OTHER_TECHNICIAN = Actor("tech-2", Role.TECHNICIAN)
SUPERVISOR = Actor("sup-1", Role.SUPERVISOR)
PROJECT_MANAGER = Actor("pm-1", Role.PROJECT_MANAGER)
HQ_QUALITY = Actor("hq-1", Role.HQ_QUALITY)
INTEGRATOR = Actor("int-1", Role.INTEGRATOR)
PRIVACY_OFFICER = Actor("dpo-1", Role.PRIVACY_OFFICER)
NOTIFIER = Actor("notify", Role.NOTIFIER)


def report(
    kind: WorkOrderKind = WorkOrderKind.REPAIR,
    resident_id: str | None = "res-1",
    owner: str | None = None,
) -> ReportWorkOrder:
    """A leaking pipe (or a complaint, suggestion…) reported by phone by resident res-1."""
    return ReportWorkOrder(
        project="sunny-garden",
        kind=kind,
        category="plumbing",
        location=Location(building="3", unit="1202"),
        reporter=Reporter(name="王女士", phone="13800000000", resident_id=resident_id),
        channel=Channel.PHONE,
        description="厨房水管漏水",
        owner=owner,
    )


# One valid instance of every work-order command, given the time it is given at.
SAMPLE_COMMANDS: dict[type[Command], Callable[[datetime], Command]] = {
    TransferOwner: lambda now: TransferOwner(to_owner="cs-2", reason="shift change"),
    Assign: lambda now: Assign(assignee="tech-1"),
    Reassign: lambda now: Reassign(to_assignee="tech-2", reason="needs an electrician"),
    AcceptOffer: lambda now: AcceptOffer(),
    DeclineOffer: lambda now: DeclineOffer(reason="on another job"),
    HandBack: lambda now: HandBack(reason="hurt my back"),
    RequestTransfer: lambda now: RequestTransfer(reason="needs an electrician"),
    AgreeArrivalDelay: lambda now: AgreeArrivalDelay(
        agreed_arrival_at=now + timedelta(minutes=30), reason="technician on another job"
    ),
    Arrive: lambda now: Arrive(),
    ScheduleAppointment: lambda now: ScheduleAppointment(appointment_at=now + timedelta(hours=5)),
    MissAppointment: lambda now: MissAppointment(note="notice on the door"),
    RecordNoVisitNeeded: lambda now: RecordNoVisitNeeded(reason="explained by phone"),
    StartWork: lambda now: StartWork(),
    Pause: lambda now: Pause(reason=PauseReason.WAITING_FOR_PARTS),
    Resume: lambda now: Resume(),
    MakeCommitment: lambda now: MakeCommitment(due_at=now + timedelta(days=2)),
    Postpone: lambda now: Postpone(new_due_at=now + timedelta(days=4), reason="parts delayed"),
    ReportProgress: lambda now: ReportProgress(note="waterproofing dries"),
    Complete: lambda now: Complete(summary="replaced the valve"),
    GiveFeedback: lambda now: GiveFeedback(message="fixed this morning"),
    RecordFollowUp: lambda now: RecordFollowUp(rating=5, comment="很满意"),
    Close: lambda now: Close(),
    Reopen: lambda now: Reopen(reason="leaks again"),
    Cancel: lambda now: Cancel(reason="resident fixed it"),
    MarkComplaint: lambda now: MarkComplaint(valid=True, reason="the promise was broken"),
    ChangeUrgency: lambda now: ChangeUrgency(urgency=Urgency.URGENT, reason="water below"),
}


@dataclass
class Story:
    """A work order told step by step: each command is decided at a later minute and folded."""

    now: datetime = T0
    state: WorkOrderState | None = None
    history: list[tuple[EventData, datetime]] = field(default_factory=list)

    def do(
        self, command: Command, actor: Actor = SUPERVISOR, after: timedelta = timedelta(minutes=1)
    ) -> list[EventData]:
        """Decide `command` by `actor` a little later, apply the events and return them."""
        self.now += after
        events = decide(self.state, command, actor, self.now)
        for event in events:
            self.state = evolve(self.state, event, self.now)
            self.history.append((event, self.now))
        return events

    def sample(self, command_type: type[Command], actor: Actor = SUPERVISOR) -> list[EventData]:
        """Give the sample instance of `command_type`."""
        return self.do(SAMPLE_COMMANDS[command_type](self.now + timedelta(minutes=1)), actor)

    @property
    def current(self) -> WorkOrderState:
        """The state, which exists once the order is reported."""
        assert self.state is not None
        return self.state


def order_in(
    status: Status,
    kind: WorkOrderKind = WorkOrderKind.REPAIR,
    *,
    committed: bool = False,
    appointment: bool = False,
) -> Story:
    """A work order brought to `status` by the usual path, reported by res-1, owned by cs-1.

    `committed` promises a resolution time and `appointment` books a visit right after the
    report, so commands needing them can be tried from every status.
    """
    story = Story()
    story.do(report(kind), CUSTOMER_SERVICE)
    if committed:
        story.sample(MakeCommitment)
    if appointment:
        # Booked for two minutes on: due by the time the next step is decided, so a
        # missed appointment can be recorded from every status.
        story.do(ScheduleAppointment(appointment_at=story.now + timedelta(minutes=2)))
    path: dict[Status, list[type[Command]]] = {
        Status.REPORTED: [],
        Status.ASSIGNED: [Assign],
        Status.ON_SITE: [Assign, Arrive],
        Status.IN_PROGRESS: [Assign, Arrive, StartWork],
        Status.PAUSED: [Assign, Arrive, StartWork, Pause],
        Status.COMPLETED: [Assign, Arrive, StartWork, Complete],
        Status.CLOSED: [Assign, Arrive, StartWork, Complete, Close],
        Status.CANCELLED: [Assign, Cancel],
    }
    for step in path[status]:
        story.sample(step)
    assert story.current.status is status
    return story
