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


def address(order: Mapping[str, Any], project: Mapping[str, Any] | None) -> str:
    """Where to go: project name, building name, unit and detail, as far as they are known."""
    location = order.get("location") or {}
    building = location.get("building")
    parts = [
        str((project or {}).get("name") or order.get("project") or ""),
        building_names(project).get(str(building), str(building)) if building else "",
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
    RESUME = "resume"
    COMPLETE = "complete"


NEXT_ACTION: Mapping[str, Action] = {
    "assigned": Action.ARRIVE,
    "on_site": Action.START,
    "paused": Action.RESUME,
    "in_progress": Action.COMPLETE,
}
"""The step an assigned technician takes next, by the order's status."""

NEEDS_NOTE: frozenset[Action] = frozenset({Action.COMPLETE})
"""Actions whose confirmation asks for words (what was done)."""


def next_action(order: Mapping[str, Any]) -> Action | None:
    """The technician's next step on an order assigned to them (None when nothing is theirs)."""
    return NEXT_ACTION.get(str(order.get("status", "")))


CATEGORIES: tuple[str, ...] = (
    *(trade for trade in COMMON_TRADES if trade != "customer_service"),
    "noise",
    "parking",
    "other",
)
"""The categories customer service picks from: the usual teams' trades (a category without
a dispatch rule is suggested to that trade) and the usual complaint subjects."""
