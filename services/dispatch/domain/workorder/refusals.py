"""How a decision says no: errors that name the work order's current status.

Every refusal because of the status is an `InvalidTransition` whose message names the
current status and whose `current_status` extra lets the API show it as a field. A
resident's app report in a project where nobody receives it is refused here too
(`no_receiver`): who receives it is assignment's question, the refusal is the order's.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NoReturn

from services.dispatch.domain.commands import Command
from services.dispatch.domain.workorder.state import Status, WorkOrderState
from shared.errors import Conflict, InvalidInput, InvalidTransition


def require_status(state: WorkOrderState, command: Command, allowed: Collection[Status]) -> None:
    """Refuse `command` unless the work order's status is one of `allowed`."""
    if state.status in allowed:
        return
    listed = ", ".join(s.value for s in Status if s in allowed)
    raise InvalidTransition(
        f"cannot {verb(command)}: work order is '{state.status.value}' (allowed from: {listed})",
        current_status=state.status.value,
    )


def refuse(state: WorkOrderState, command: Command, why: str, code: str) -> NoReturn:
    """Refuse `command` for a reason of the work order's state other than its status."""
    raise InvalidTransition(
        f"cannot {verb(command)}: {why} (work order is '{state.status.value}')",
        code=code,
        current_status=state.status.value,
    )


def require_future(at: datetime, now: datetime, what: str) -> None:
    """Refuse a time that is not after `now` (promises and bookings look ahead)."""
    if at <= now:
        raise InvalidInput(f"{what} must be in the future", code="not_in_future")


def verb(command: Command) -> str:
    """The command as words for messages: `make-commitment` → `make commitment`."""
    return command.name.replace("-", " ")


def no_receiver(project: str) -> Conflict:
    """The refusal of a resident's report in a project where nobody receives app reports."""
    return Conflict(
        f"nobody receives reports made in the app for project {project!r}: no customer "
        "service is on duty and the project names no receiver; please call the property "
        "office (managers: set the roster's receiver, PUT /v1/projects/{project}/roster)",
        code="no_receiver",
        project=project,
    )
