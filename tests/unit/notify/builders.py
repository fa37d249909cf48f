"""Real work-order events (built with the public event models) for notify's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.envelope import Envelope
from shared.events.base import EventData
from shared.events.sla import (
    ClockName,
    EscalationRole,
    SlaClockBreached,
    SlaEscalated,
    SlaWarningRaised,
)
from shared.events.workorder import (
    AppointmentMissed,
    ArrivalDelayAgreed,
    Assigned,
    Channel,
    CommitmentMade,
    Completed,
    DispatchMode,
    DispatchPending,
    FeedbackGiven,
    Location,
    Offered,
    OfferReasons,
    PendingReason,
    Postponed,
    ProgressReported,
    Reassigned,
    Reopened,
    Reporter,
    Urgency,
    WorkOrderKind,
    WorkOrderReported,
)

TENANT = "demo"
PROJECT = "sunny-garden"
RESIDENT = "rsd_zhangsanzhangsanzhangsan"[:28]
"""张三's pseudonymous reference, as dispatch puts it in `reporter.resident`."""
PHONE = "13800000000"
"""张三's phone: in the report's input, and in dispatch's answer at send time only."""
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def reported(
    urgency: Urgency = Urgency.NORMAL, resident_id: str | None = "res-zhang"
) -> WorkOrderReported:
    """A leaking pipe reported by phone, owned by customer service's Li."""
    return WorkOrderReported(
        kind=WorkOrderKind.REPAIR,
        category="plumbing",
        urgency=urgency,
        location=Location(building="b1", unit="1-101"),
        reporter=Reporter(name="张三", phone="13800000000", resident_id=resident_id),
        channel=Channel.PHONE,
        description="厨房水管漏水",
        owner="cs-li",
    )


def sla_fields(clock: ClockName = ClockName.ARRIVAL) -> dict[str, Any]:
    """What every SLA event says about its clock."""
    return {
        "clock": clock,
        "cycle": 0,
        "policy_version": 1,
        "elapsed_seconds": 144.0,
        "remaining_seconds": 36.0,
    }


def story() -> list[EventData]:
    """One event of every type with a default route, in an order a work order can live."""
    due = T0 + timedelta(days=2)
    return [
        reported(),
        Assigned(assignee="tech-wang"),
        ArrivalDelayAgreed(agreed_arrival_at=T0 + timedelta(hours=1), reason="住户在外"),
        SlaWarningRaised(
            **sla_fields(),
            due_at=T0 + timedelta(minutes=3),
            threshold=0.8,
            scheduled_for=T0 + timedelta(seconds=144),
            detected_at=T0 + timedelta(seconds=145),
        ),
        SlaClockBreached(
            **sla_fields(),
            due_at=T0 + timedelta(minutes=3),
            detected_at=T0 + timedelta(minutes=3, seconds=1),
        ),
        SlaEscalated(
            **sla_fields(),
            due_at=T0 + timedelta(minutes=3),
            level=1,
            trigger="breach",
            to_role=EscalationRole.SUPERVISOR,
            scheduled_for=T0 + timedelta(minutes=3),
            detected_at=T0 + timedelta(minutes=3, seconds=1),
        ),
        Reassigned(from_assignee="tech-wang", to_assignee="tech-zhao", reason="王师傅请假"),
        CommitmentMade(due_at=due),
        Postponed(
            previous_due_at=due,
            new_due_at=due + timedelta(days=1),
            reason="等配件",
            postponement_number=1,
        ),
        AppointmentMissed(appointment_at=T0 + timedelta(days=1), note="门上已贴提示条"),
        Completed(summary="换了三通阀"),
        # Out of a real order's life (it comes before an assignment), kept here so the
        # indexes above stay: notify's routing does not depend on it.
        DispatchPending(
            reason=PendingReason.ATTEMPTS_EXHAUSTED,
            attempts=3,
            escalation="on_duty_supervisor",
            escalated_to=("sup-chen",),
        ),
        FeedbackGiven(message="已更换三通阀，请放心使用"),
        Reopened(reason="水管又漏了"),
        # Out of a real order's life too (an offer comes before the assignment), at the
        # end so that the indexes above stay.
        Offered(
            mode=DispatchMode.GRAB,
            attempt=1,
            trade="plumbing",
            expires_at=T0 + timedelta(minutes=1),
            offers=(OfferReasons(technician="tech-wang", rank=1, open_orders=0, rotation=0),),
        ),
        ProgressReported(note="防水层已重做，正在等待晾干"),
    ]


def envelope(
    data: EventData,
    sequence: int,
    work_order_id: str = "wo-1",
    at: datetime = T0,
    tenant: str = TENANT,
    project: str = PROJECT,
    resident: str | None = RESIDENT,
) -> Envelope:
    """The envelope dispatch would publish for `data`: a report carries the reporter's
    reference `resident` (None: an event recorded before references)."""
    payload = data.model_dump(mode="json")
    if isinstance(data, WorkOrderReported) and resident is not None:
        payload["reporter"]["resident"] = resident
    return Envelope(
        id=uuid.uuid4(),
        source="/dispatch",
        type=data.cloudevents_type(),
        subject=work_order_id,
        time=at,
        data=payload,
        tenant=tenant,
        project=project,
        sequence=sequence,
        correlationid=f"corr-{work_order_id}",
        actor="cs-li",
    )
