"""Builders of event envelopes (as JSON dicts, the wire form) for reporting's tests.

`OrderStory` writes one work order's events in `sequence` order, SLA events included, the
way dispatch publishes them; `random_history` draws valid histories for property tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

Event = dict[str, Any]

TENANT = "acme"


def _iso(at: datetime) -> str:
    return at.isoformat()


def envelope(
    type_name: str, subject: str, project: str, sequence: int, at: datetime, data: dict[str, Any]
) -> Event:
    """One CloudEvents envelope as dispatch publishes it."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/dispatch",
        "type": f"{type_name}.v1",
        "subject": subject,
        "time": _iso(at),
        "datacontenttype": "application/json",
        "data": data,
        "tenant": TENANT,
        "project": project,
        "sequence": sequence,
        "correlationid": "test",
        "causationid": None,
        "actor": "tester",
    }


def project_event(
    project: str, households: int, at: datetime, sequence: int = 1, tz: str = "Asia/Shanghai"
) -> Event:
    """`project.registered` (sequence 1) or `project.updated`."""
    name = "project.registered" if sequence == 1 else "project.updated"
    details = {"name": project, "time_zone": tz, "households": households, "buildings": []}
    return envelope(
        name, f"project:{TENANT}:{project}", project, sequence, at, {"details": details}
    )


@dataclass
class OrderStory:
    """One work order's events, appended in order."""

    project: str
    kind: str
    at: datetime
    building: str = "b1"
    category: str = "plumbing"
    order_id: str = field(default_factory=lambda: f"wo-{uuid.uuid4().hex[:12]}")
    events: list[Event] = field(default_factory=list)
    cycles: dict[str, int] = field(default_factory=dict)

    def emit(self, type_name: str, at: datetime, **data: Any) -> OrderStory:
        """Append one event at `at`."""
        self.at = at
        self.events.append(
            envelope(type_name, self.order_id, self.project, len(self.events) + 1, at, data)
        )
        return self

    def number(self, at: datetime) -> str:
        """The order's number as dispatch gives it (the sequence from the order's id)."""
        return f"SG-{at:%Y%m%d}-{int(self.order_id[-4:], 16) % 9999 + 1:04d}"

    def reported(self, at: datetime, received_at: datetime | None = None) -> OrderStory:
        """`workorder.reported`, with the arrival and resolution clocks a repair starts.

        With `received_at` (a call entered later), the clocks run from that instant.
        """
        entered: dict[str, Any] = {} if received_at is None else {
            "received_at": _iso(received_at), "received_at_entered_by": "cs-li",
        }  # fmt: skip
        self.emit(
            "workorder.reported",
            at,
            kind=self.kind,
            category=self.category,
            urgency="normal",
            location={"building": self.building, "unit": "1-101"},
            reporter={"name": "张三"},
            channel="phone",
            description="漏水",
            owner="cs-li",
            number=self.number(at),
            **entered,
        )
        if self.kind in ("repair", "complaint"):
            self.clock_started("arrival", at, timedelta(minutes=3), began=received_at)
            self.clock_started("resolution", at, timedelta(days=2), began=received_at)
        return self

    def clock_started(
        self,
        clock: str,
        at: datetime,
        target: timedelta,
        cycle: int = 1,
        began: datetime | None = None,
    ) -> OrderStory:
        """`workorder.sla_clock_started` at `at`, running since `began` (default `at`)."""
        self.cycles[clock] = cycle
        since = began or at
        elapsed = (at - since).total_seconds()
        return self.emit(
            "workorder.sla_clock_started", at, clock=clock, cycle=cycle, policy_version=1,
            elapsed_seconds=elapsed, remaining_seconds=target.total_seconds() - elapsed,
            due_at=_iso(since + target), calendar="24x7", target_seconds=target.total_seconds(),
            trigger="workorder.reported",
        )  # fmt: skip

    def clock_met(
        self, clock: str, at: datetime, on_time: bool, consent: bool = False
    ) -> OrderStory:
        """`workorder.sla_clock_met`."""
        return self.emit(
            "workorder.sla_clock_met", at, clock=clock, cycle=self.cycles.get(clock, 1),
            policy_version=1, elapsed_seconds=1.0, remaining_seconds=0.0, due_at=_iso(at),
            on_time=on_time, missed_with_consent=consent, trigger="x",
        )  # fmt: skip

    def clock_breached(self, clock: str, due_at: datetime, at: datetime) -> OrderStory:
        """`workorder.sla_clock_breached` of a clock due at `due_at`, detected at `at`."""
        return self.emit(
            "workorder.sla_clock_breached", at, clock=clock, cycle=self.cycles.get(clock, 1),
            policy_version=1, elapsed_seconds=1.0, remaining_seconds=-1.0,
            due_at=_iso(due_at), detected_at=_iso(at),
        )  # fmt: skip

    def clock_cancelled(self, clock: str, at: datetime) -> OrderStory:
        """`workorder.sla_clock_cancelled`."""
        return self.emit(
            "workorder.sla_clock_cancelled", at, clock=clock, cycle=self.cycles.get(clock, 1),
            policy_version=1, elapsed_seconds=1.0, remaining_seconds=0.0, due_at=_iso(at),
            reason="cancelled",
        )  # fmt: skip


def _first_time(story: OrderStory) -> datetime:
    """When the order's request came in (its clocks' start)."""
    first = story.events[0]
    return datetime.fromisoformat(first["data"].get("received_at") or first["time"])


@st.composite
def order_story(draw: st.DrawFn, project: str, start: datetime) -> OrderStory:
    """A random valid life of one work order with its SLA outcomes."""
    kind = draw(st.sampled_from(["repair", "repair", "complaint", "suggestion", "cleaning"]))
    building = draw(st.sampled_from(["b1", "b2"]))
    minutes = st.integers(min_value=1, max_value=60 * 30)
    at = start + timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
    # Now and then customer service types a call in later than it came (`received_at`).
    late = draw(st.sampled_from([0, 0, 0, 2, 90]))
    received_at = at - timedelta(minutes=late) if late else None
    story = OrderStory(project, kind, at, building=building).reported(at, received_at)
    clocks = kind in ("repair", "complaint")
    if draw(st.booleans()):
        at += timedelta(minutes=draw(minutes))
        story.emit("workorder.cancelled", at, reason="withdrawn")
        if clocks:
            story.clock_cancelled("arrival", at).clock_cancelled("resolution", at)
        return story
    at += timedelta(minutes=draw(minutes))
    story.emit("workorder.assigned", at, assignee=draw(st.sampled_from(["tech-a", "tech-b"])))
    if draw(st.booleans()):
        story.emit(
            "workorder.reassigned", at, from_assignee="tech-a", to_assignee="tech-c", reason="x"
        )
    reported_at = _first_time(story)
    arrival_late = draw(st.booleans())
    consent = arrival_late and draw(st.booleans())
    if clocks and arrival_late and not consent:
        story.clock_breached("arrival", reported_at + timedelta(minutes=3), at)
        if draw(st.booleans()):
            return story  # nobody has come yet: open, the 3-minute promise broken
    at += timedelta(minutes=draw(minutes))
    story.emit("workorder.arrived", at, technician="tech-a")
    if clocks:
        story.clock_met("arrival", at, on_time=not arrival_late or consent, consent=consent)
    if draw(st.booleans()):
        story.emit("workorder.appointment_missed", at, appointment_at=_iso(at))
    if kind == "complaint" and draw(st.booleans()):
        story.emit("workorder.complaint_validity_marked", at, valid=draw(st.booleans()), reason="r")
    if draw(st.booleans()):
        at += timedelta(minutes=draw(minutes))
        story.emit("workorder.feedback_given", at, message="在处理")
    if draw(st.booleans()):
        at += timedelta(minutes=draw(minutes))
        story.emit("workorder.postponed", at, previous_due_at=_iso(at), new_due_at=_iso(at),
                   reason="parts", postponement_number=1)  # fmt: skip
    if draw(st.booleans()):
        if clocks and draw(st.booleans()):
            story.clock_breached("resolution", reported_at + timedelta(days=2), at)
        return story  # still open
    for round_ in range(draw(st.integers(1, 2))):
        at += timedelta(minutes=draw(minutes))
        story.emit("workorder.completed", at, summary="done")
        if clocks:
            story.clock_met("resolution", at, on_time=draw(st.booleans()))
        for _ in range(draw(st.integers(0, 2))):  # a follow-up visit, maybe a re-rating
            at += timedelta(minutes=draw(minutes))
            story.emit("workorder.follow_up_recorded", at, rating=draw(st.integers(1, 5)))
        if round_ == 0 and draw(st.booleans()):
            at += timedelta(days=draw(st.integers(0, 40)), minutes=draw(minutes))
            story.emit("workorder.reopened", at, reason="leaks again")
            if clocks:
                # A reopen starts the resolution clock's next cycle.
                story.clock_started("resolution", at, timedelta(days=2), cycle=2)
        else:
            break
    if story.events[-1]["type"] == "workorder.completed.v1" and draw(st.booleans()):
        at += timedelta(minutes=draw(minutes))
        story.emit("workorder.closed", at)
    return story


@st.composite
def random_history(draw: st.DrawFn, start: datetime) -> list[Event]:
    """Two projects' registrations and a few dozen work orders, as published (per-stream order)."""
    events = [
        project_event("sunny", draw(st.integers(0, 500)), start - timedelta(days=1)),
        project_event("river", draw(st.integers(1, 500)), start - timedelta(days=1)),
    ]
    for _ in range(draw(st.integers(1, 12))):
        project = draw(st.sampled_from(["sunny", "river"]))
        events.extend(draw(order_story(project, start)).events)
    return events


@st.composite
def delivery_story(draw: st.DrawFn, project: str, start: datetime) -> list[Event]:
    """One notify delivery's events: maybe deferred, some failed attempts, then sent, dead or
    unreached (an escalation that found nobody to tell)."""
    delivery = f"dl-{uuid.uuid4().hex[:12]}"
    at = start + timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
    common = {
        "delivery_id": delivery,
        "event_id": str(uuid.uuid4()),
        "event_type": "workorder.assigned",
        "work_order_id": draw(st.sampled_from([None, "wo-x"])),
        "recipient": "resident:r1",
        "channel": draw(st.sampled_from(["sms", "wecom", "email"])),
        "template": draw(st.sampled_from(["order_assigned", "order_completed"])),
        "language": "zh-CN",
    }
    steps: list[tuple[str, dict[str, Any]]] = []
    if draw(st.booleans()):
        steps.append(("deferred", {"deferred_until": _iso(at), "reason": "quiet_hours"}))
    for _ in range(draw(st.integers(0, 2))):
        steps.append(("failed", {"error": "timeout", "next_attempt_at": _iso(at)}))
    steps.append(
        draw(
            st.sampled_from(
                [("sent", {"sent_at": _iso(at)}), ("dead", {"error": "x"}), ("unreached", {})]
            )
        )
    )
    events = []
    for i, (outcome, extra) in enumerate(steps):
        at += timedelta(minutes=draw(st.integers(1, 600)))
        data = {**common, "attempts": i, **extra}
        events.append(
            envelope(
                f"notification.{outcome}", f"notification:{delivery}", project, i + 1, at, data
            )
        )
    return events
