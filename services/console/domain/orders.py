"""How the console shows a work order: its name, its address, its steps, its next action.

Work orders come from dispatch's API as JSON; these functions read only the fields they
need, so a field dispatch adds (a human `number`) is used when present and missed when not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.dispatch.domain.assignment import COMMON_TRADES

SHORT_ID_LENGTH = 8


def order_label(order: Mapping[str, Any]) -> str:
    """The name staff say aloud: the human `number` when dispatch gives one, else the id's start."""
    number = order.get("number")
    if isinstance(number, str) and number:
        return number
    return str(order.get("id", ""))[:SHORT_ID_LENGTH]


def building_names(project: Mapping[str, Any] | None) -> dict[str, str]:
    """Building id -> name of a registered project (empty when unknown)."""
    return {
        str(b.get("id")): str(b.get("name") or b.get("id"))
        for b in (project or {}).get("buildings") or ()
        if isinstance(b, Mapping) and b.get("id")
    }


def place(slug: str, building: object, project: Mapping[str, Any] | None) -> str:
    """A project and building by their names (ids when unknown): the part of an address
    a technician covers."""
    parts = [
        str((project or {}).get("name") or slug or ""),
        building_names(project).get(str(building), str(building)) if building else "",
    ]
    return " ".join(part for part in parts if part)


def address(order: Mapping[str, Any], project: Mapping[str, Any] | None) -> str:
    """Where to go: project name, building name, unit and detail, as far as they are known."""
    location = order.get("location") or {}
    parts = [
        place(str(order.get("project") or ""), location.get("building"), project),
        str(location.get("unit") or ""),
        str(location.get("detail") or ""),
    ]
    return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class Step:
    """One thing that happened to a work order: its event's name (`arrived`) and when."""

    kind: str
    at: str


def steps(events: Sequence[Mapping[str, Any]]) -> list[Step]:
    """The work order's own events (CloudEvents envelopes), oldest first, as steps.

    The type `workorder.arrived.v1` is the step `arrived`. SLA clock events are the
    clocks' bookkeeping, not steps of the work: they are left out.
    """
    found = []
    for event in events:
        matched = _STEP_TYPE.fullmatch(str(event.get("type", "")))
        if matched and not matched.group(1).startswith("sla_"):
            found.append(Step(matched.group(1), str(event.get("time", ""))))
    return found


_STEP_TYPE = re.compile(r"workorder\.([a-z_]+)(?:\.v\d+)?")


class Action(StrEnum):
    """A technician's one-tap commands, by dispatch's URL segment."""

    ACCEPT = "accept-offer"
    DECLINE = "decline-offer"
    ARRIVE = "arrive"
    START = "start-work"
    PAUSE = "pause"
    RESUME = "resume"
    REPORT_PROGRESS = "report-progress"
    COMPLETE = "complete"
    MISS_APPOINTMENT = "miss-appointment"
    HAND_BACK = "hand-back"
    REQUEST_TRANSFER = "request-transfer"


NEXT_ACTION: Mapping[str, Action] = {
    "assigned": Action.ARRIVE,
    "on_site": Action.START,
    "paused": Action.RESUME,
    "in_progress": Action.COMPLETE,
}
"""The step an assigned technician takes next, by the order's status."""

_GIVE_BACK = (Action.HAND_BACK, Action.REQUEST_TRANSFER)
OTHER_ACTIONS: Mapping[str, tuple[Action, ...]] = {
    "assigned": (Action.MISS_APPOINTMENT, Action.REPORT_PROGRESS, *_GIVE_BACK),
    "on_site": (Action.REPORT_PROGRESS, *_GIVE_BACK),
    "in_progress": (Action.PAUSE, Action.REPORT_PROGRESS, *_GIVE_BACK),
    "paused": (Action.REPORT_PROGRESS, *_GIVE_BACK),
}
"""The technician's other steps on an assigned order, by its status (dispatch's rules)."""


def next_action(order: Mapping[str, Any]) -> Action | None:
    """The technician's next step on an order assigned to them (None when nothing is theirs)."""
    return NEXT_ACTION.get(str(order.get("status", "")))


def other_actions(order: Mapping[str, Any]) -> tuple[Action, ...]:
    """The technician's other steps on an order assigned to them.

    "Nobody home" is offered only for a booked appointment: without one there is nothing
    to miss. Whether its time has come is dispatch's to say (its refusal is shown).
    """
    found = OTHER_ACTIONS.get(str(order.get("status", "")), ())
    if not order.get("appointment_at"):
        found = tuple(a for a in found if a is not Action.MISS_APPOINTMENT)
    return found


class ServiceStep(StrEnum):
    """Customer service's commands on an order it follows, by dispatch's URL segment."""

    FEEDBACK = "give-feedback"
    NO_VISIT = "record-no-visit-needed"
    RULE_COMPLAINT = "mark-complaint"
    TRANSFER = "transfer-owner"
    FOLLOW_UP = "record-follow-up"


ENDED = frozenset({"closed", "cancelled"})
DONE_WITH = frozenset({"completed", *ENDED})
BEFORE_ARRIVAL = frozenset({"reported", "assigned"})
NO_VISIT_KINDS = frozenset({"complaint", "suggestion"})


def service_steps(order: Mapping[str, Any], may_rule: bool) -> tuple[ServiceStep, ...]:
    """What customer service may do next on `order` (dispatch's status rules), in page order.

    `may_rule`: the user is a supervisor or project manager, who rule on complaints.
    """
    status, kind = str(order.get("status", "")), str(order.get("kind", ""))
    found: list[ServiceStep] = []
    if status not in DONE_WITH:
        found.append(ServiceStep.FEEDBACK)
    if kind in NO_VISIT_KINDS and status in BEFORE_ARRIVAL and not order.get("no_visit_needed_by"):
        found.append(ServiceStep.NO_VISIT)
    if status == "completed":
        found.append(ServiceStep.FOLLOW_UP)
    if may_rule and kind == "complaint" and status != "cancelled":
        found.append(ServiceStep.RULE_COMPLAINT)
    if status not in ENDED:
        found.append(ServiceStep.TRANSFER)
    return tuple(found)


CATEGORIES: tuple[str, ...] = (
    *(trade for trade in COMMON_TRADES if trade != "customer_service"),
    "noise",
    "parking",
    "other",
)
"""The categories customer service picks from: the usual teams' trades (a category without
a dispatch rule is suggested to that trade) and the usual complaint subjects."""
