"""Who may do what to which work order: the role matrix (docs/assignment.md, docs/sla.md) as data.

A resident acts on and sees only the orders they reported (`reporter.resident_id`); a
technician acts on the orders assigned to them and sees those plus the ones they own.
Supervisors and project managers may give every work-order command, including the
overrides (a commitment beyond 7 days, a second postponement). HQ quality and integrators
give no work-order commands; HQ quality and project managers keep the project registry.
Which projects a caller may touch at all is checked before the domain, from the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

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
    RecalculateSla,
    RecordFollowUp,
    RecordNoVisitNeeded,
    RegisterProject,
    Reopen,
    ReportProgress,
    ReportWorkOrder,
    RequestTransfer,
    Resume,
    ScheduleAppointment,
    StartWork,
    TransferOwner,
    UpdateProject,
)
from services.dispatch.domain.workorder.refusals import verb
from services.dispatch.domain.workorder.state import Status, WorkOrderState
from shared.auth import SERVICE_ROLES, Role
from shared.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """The person (or machine) giving a command: the token's subject and role."""

    subject: str
    role: Role


class Reach(StrEnum):
    """Which work orders a role may give a command on."""

    ANY = "any"
    OWN = "own"


OVERRIDE_ROLES: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.PROJECT_MANAGER})
"""Roles that may give every work-order command and grant overrides."""

_CS, _DISPATCH, _TECH, _RESIDENT = (
    Role.CUSTOMER_SERVICE,
    Role.DISPATCHER,
    Role.TECHNICIAN,
    Role.RESIDENT,
)
_ANY, _OWN = Reach.ANY, Reach.OWN

_MANAGERS = {role: Reach.ANY for role in OVERRIDE_ROLES}
# Besides supervisors and project managers, who may give every work-order command:
_WORK_ORDER_ROLES: dict[type[Command], dict[Role, Reach]] = {
    ReportWorkOrder: {_RESIDENT: _OWN, _CS: _ANY, _DISPATCH: _ANY},
    TransferOwner: {_CS: _ANY, _DISPATCH: _ANY},
    Assign: {_DISPATCH: _ANY},
    Reassign: {_DISPATCH: _ANY},
    # Only the technician holding the offer; supervisors and managers may not accept for them.
    AcceptOffer: {_TECH: _OWN},
    DeclineOffer: {_TECH: _OWN},
    # Only the technician the work is assigned to; a dispatcher moves work with reassign.
    HandBack: {_TECH: _OWN},
    RequestTransfer: {_TECH: _OWN},
    AgreeArrivalDelay: {_TECH: _OWN, _DISPATCH: _ANY, _CS: _ANY},
    Arrive: {_TECH: _OWN},
    StartWork: {_TECH: _OWN},
    Pause: {_TECH: _OWN},
    Resume: {_TECH: _OWN},
    # Customer service only when no visit was needed (checked in authorize).
    Complete: {_TECH: _OWN, _CS: _ANY},
    ScheduleAppointment: {_RESIDENT: _OWN, _CS: _ANY, _DISPATCH: _ANY, _TECH: _OWN},
    MissAppointment: {_TECH: _OWN, _CS: _ANY},
    RecordNoVisitNeeded: {_CS: _ANY},
    MakeCommitment: {_CS: _ANY, _DISPATCH: _ANY, _TECH: _OWN},
    Postpone: {_CS: _ANY, _DISPATCH: _ANY, _TECH: _OWN},
    ReportProgress: {_CS: _ANY, _DISPATCH: _ANY, _TECH: _OWN},
    GiveFeedback: {_CS: _ANY},
    RecordFollowUp: {_CS: _ANY, _RESIDENT: _OWN},
    Close: {_CS: _ANY},
    Reopen: {_CS: _ANY, _RESIDENT: _OWN},
    Cancel: {_CS: _ANY, _DISPATCH: _ANY, _RESIDENT: _OWN},
    MarkComplaint: {},
    ChangeUrgency: {_CS: _ANY, _DISPATCH: _ANY},
    # Moving running clocks to a new policy is a manager's call: it can move promises.
    RecalculateSla: {},
}
_OFFER_COMMANDS = frozenset({AcceptOffer, DeclineOffer, HandBack, RequestTransfer})
_PROJECT_ROLES: dict[Role, Reach] = {Role.PROJECT_MANAGER: _ANY, Role.HQ_QUALITY: _ANY}

PERMISSIONS: Mapping[type[Command], Mapping[Role, Reach]] = {
    **{
        command: roles if command in _OFFER_COMMANDS else {**roles, **_MANAGERS}
        for command, roles in _WORK_ORDER_ROLES.items()
    },
    RegisterProject: _PROJECT_ROLES,
    UpdateProject: _PROJECT_ROLES,
}
"""For each command, the roles that may give it and on which work orders."""

# A resident may withdraw a request only before anyone has started on it.
_RESIDENT_CANCELLABLE = frozenset({Status.REPORTED, Status.ASSIGNED})


def is_own(actor: Actor, state: WorkOrderState | None, command: Command | None = None) -> bool:
    """Whether the work order is the actor's own: reported by the resident, assigned to the
    technician (for accepting or declining: offered to the technician, now or before)."""
    if state is None:
        return False
    if actor.role is Role.RESIDENT:
        return state.reporter.resident_id == actor.subject
    if actor.role is Role.TECHNICIAN:
        if isinstance(command, AcceptOffer | DeclineOffer):
            # Someone whose offer was withdrawn must hear "taken", not "not yours".
            return actor.subject in state.tried or state.assignee == actor.subject
        return state.assignee == actor.subject
    return False


def authorize(command: Command, actor: Actor, state: WorkOrderState | None) -> None:
    """Raise `Forbidden` unless `actor` may give `command` on the work order in `state`.

    Codes: `role_not_allowed` (the role may never do this, or not in this case) and
    `not_your_work_order` (the role may, but only on its own orders).
    """
    reach = _reach(command, actor)
    if isinstance(command, ReportWorkOrder):
        _authorize_report(command, actor)
        return
    if reach is Reach.OWN and not is_own(actor, state, command):
        raise Forbidden(
            f"a {actor.role.value} may {verb(command)} only on their own work orders",
            code="not_your_work_order",
            role=actor.role.value,
        )
    overrides = isinstance(command, MakeCommitment | Postpone) and command.override_reason
    if overrides and actor.role not in OVERRIDE_ROLES:
        raise Forbidden(
            "only a supervisor or project manager may give an override reason",
            code="role_not_allowed",
            role=actor.role.value,
        )
    if (
        isinstance(command, Complete)
        and actor.role is Role.CUSTOMER_SERVICE
        and (state is None or state.no_visit_needed_by is None)
    ):
        raise Forbidden(
            "customer service may complete only a request it recorded as needing no visit; "
            "the technician completes work done on site",
            code="role_not_allowed",
            role=actor.role.value,
        )
    if (
        isinstance(command, Cancel)
        and actor.role is Role.RESIDENT
        and state is not None
        and state.status not in _RESIDENT_CANCELLABLE
    ):
        raise Forbidden(
            f"a resident may cancel only before work starts; the work order is "
            f"'{state.status.value}', ask customer service",
            code="role_not_allowed",
            role=actor.role.value,
        )


def authorize_replay(command: Command, actor: Actor) -> None:
    """Raise `Forbidden` unless `actor`'s role may give `command` at all (before a replay).

    A replay answers the caller's own earlier command (keys are the caller's), and the
    handler has already checked that the caller still sees its work order or project. The
    checks on the order's state (its own order, a resident's cancel before work starts)
    were made when the command ran; the order has moved on since, so they are not made
    again: the caller's retry must still get its answer.
    """
    _reach(command, actor)


def _reach(command: Command, actor: Actor) -> Reach:
    reach = PERMISSIONS.get(type(command), {}).get(actor.role)
    if reach is None:
        raise Forbidden(
            f"a {actor.role.value} may not {verb(command)}",
            code="role_not_allowed",
            role=actor.role.value,
        )
    return reach


def _authorize_report(command: ReportWorkOrder, actor: Actor) -> None:
    if actor.role is not Role.RESIDENT:
        return
    resident_id = command.reporter.resident_id
    if resident_id is not None and resident_id != actor.subject:
        raise Forbidden("a resident may report only in their own name", code="not_your_work_order")
    if command.owner is not None:
        # Ownership belongs to the staff member who takes the request, not to the reporter.
        raise Forbidden("a resident may not choose the owner", code="role_not_allowed")


def can_read(actor: Actor, state: WorkOrderState) -> bool:
    """Whether `actor` may see the work order (project scoping is checked elsewhere).

    A service's identity (notify's `notifier`) reads no work order: its tokens are
    refused before any route but its own, and here again should one slip through."""
    if actor.role in SERVICE_ROLES:
        return False
    if actor.role is Role.RESIDENT:
        return state.reporter.resident_id == actor.subject
    if actor.role is Role.TECHNICIAN:
        return actor.subject in (state.assignee, state.owner) or actor.subject in state.tried
    return True


def list_scope(actor: Actor, offered_to: str | None = None) -> tuple[str, str] | None:
    """The `(column, value)` a work-order listing must be filtered by, or None for no filter.

    Technicians list the orders assigned to them, or, asking for `offered_to` themselves,
    the orders whose open offer they hold; the few they merely own stay readable one by
    one through `can_read`.
    """
    if actor.role is Role.RESIDENT:
        return ("reporter_resident_id", actor.subject)
    if actor.role is Role.TECHNICIAN:
        if offered_to == actor.subject:
            return ("offered_to", actor.subject)
        return ("assignee", actor.subject)
    return None


def at_risk_scope(actor: Actor) -> tuple[str, str] | None:
    """The `(column, value)` `/v1/sla/at-risk` is filtered by: what the role may act on.

    A technician acts only on the orders assigned to them, so they see those clocks and
    no other order's id or due time; the project roles (customer service, dispatchers,
    supervisors, project managers, headquarters quality, integrators) see every order of
    the projects their token grants (None: no filter beyond the projects). Residents may
    not list clocks at all (`ensure_may_see_at_risk`).
    """
    if actor.role is Role.TECHNICIAN:
        return ("assignee", actor.subject)
    return None
