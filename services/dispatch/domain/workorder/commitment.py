"""The promised resolution time (承诺时间) and its one postponement.

承诺时间最好控制在1~2天,一般不超过一周: a first promise may be at most 7 days ahead
unless a supervisor or project manager approves it. 不得出现同一件事情有两次推迟处理的情况:
one postponement is allowed; each further one needs an override by a supervisor or
project manager, recorded as its own event before the postponement. 因故未能在承诺时间内
处理的应及时通知对方: a postponement is accepted only before the current deadline.

The 7-day limit applies to a postponed time as well, measured from when the new time is
promised: otherwise one postponement would lift it. The same override lets a supervisor
or project manager go beyond it, recorded as `approved_by` on the postponement.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.dispatch.domain.commands import MakeCommitment, Postpone
from services.dispatch.domain.workorder.permissions import Actor
from services.dispatch.domain.workorder.refusals import refuse, require_future, require_status
from services.dispatch.domain.workorder.state import OPEN_STATUSES, WorkOrderState
from shared.errors import InvalidInput
from shared.events.base import EventData
from shared.events.workorder import CommitmentMade, Postponed, PostponementOverrideGranted

MAX_COMMITMENT = timedelta(days=7)
"""The longest resolution time promised without a manager's approval (一般不超过一周)."""


def decide_commitment(
    state: WorkOrderState, command: MakeCommitment, actor: Actor, now: datetime
) -> CommitmentMade:
    """The first promise of a resolution time; later changes go through `decide_postponement`."""
    require_status(state, command, OPEN_STATUSES)
    if state.commitment_due_at is not None:
        refuse(
            state,
            command,
            f"a resolution time is already promised ({state.commitment_due_at.isoformat()}); "
            "to change it, postpone",
            "commitment_exists",
        )
    require_future(command.due_at, now, "the promised time")
    approved_by = _approval(command.due_at, now, command.override_reason, actor)
    return CommitmentMade(due_at=command.due_at, approved_by=approved_by)


def _approval(
    due_at: datetime, now: datetime, override_reason: str | None, actor: Actor
) -> str | None:
    """Who approved a promise beyond 7 days (None within them); refused without an override."""
    if due_at - now <= MAX_COMMITMENT:
        return None
    if not override_reason:
        raise InvalidInput(
            "a promise may be at most 7 days ahead (承诺时间一般不超过一周) unless a supervisor "
            "or project manager gives an override reason",
            code="commitment_too_far",
        )
    # authorize() already refused override reasons from anyone but supervisors and managers.
    return actor.subject


def decide_postponement(
    state: WorkOrderState, command: Postpone, actor: Actor, now: datetime
) -> list[EventData]:
    """Move the promise later: `Postponed`, preceded by the override when it is not the first.

    An override reason given with the first postponement within 7 days is not needed and not
    recorded; beyond 7 days it is the approval (`approved_by`).
    """
    require_status(state, command, OPEN_STATUSES)
    due = state.commitment_due_at
    if due is None:
        refuse(state, command, "no resolution time was promised yet", "no_commitment")
    if now >= due:
        refuse(
            state,
            command,
            f"the promised time {due.isoformat()} has passed; the resident must be told "
            "before the deadline (因故未能在承诺时间内处理的应及时通知对方)",
            "deadline_passed",
        )
    if command.new_due_at <= due:
        raise InvalidInput(
            f"the new time must be later than the promised {due.isoformat()}", code="not_later"
        )
    approved_by = _approval(command.new_due_at, now, command.override_reason, actor)
    events: list[EventData] = []
    if state.postponements >= 1:
        if not command.override_reason:
            refuse(
                state,
                command,
                "it was already postponed once and the same matter may not be postponed "
                "twice (不得两次推迟); a supervisor or project manager may override with "
                "override_reason",
                "second_postponement",
            )
        events.append(
            PostponementOverrideGranted(granted_by=actor.subject, reason=command.override_reason)
        )
    events.append(
        Postponed(
            previous_due_at=due,
            new_due_at=command.new_due_at,
            reason=command.reason,
            postponement_number=state.postponements + 1,
            approved_by=approved_by,
        )
    )
    return events
