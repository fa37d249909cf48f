"""Work-order handlers: load the stream, let the domain decide, append in one transaction.

Handlers are plain async functions; their dependencies (the store, the project
directory) arrive as arguments, wired once in `entrypoints.bootstrap`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.domain.commands import AcceptOffer, Command, DeclineOffer, ReportWorkOrder
from services.dispatch.domain.sla import fold_sla
from services.dispatch.domain.workorder import (
    Actor,
    Numbering,
    WorkOrderState,
    can_read,
    decide,
    fold,
    local_day,
    project_code,
)
from services.dispatch.service_layer.append import Answer, Stream, append_decided
from services.dispatch.service_layer.assignment import (
    StaffDirectory,
    acceptance_guard,
    dispatch_after,
    first_receiver_of,
    offer_timer_rows,
)
from services.dispatch.service_layer.context import CommandContext, Effect, Outcome
from services.dispatch.service_layer.idempotency import earlier_outcome, fingerprint
from services.dispatch.service_layer.personal_data import Privacy, sealed_reported
from services.dispatch.service_layer.ports import (
    EventStore,
    Inline,
    LoadGuard,
    ResidentEntry,
    StreamTimers,
    WorkOrderView,
    offered_to_column,
)
from services.dispatch.service_layer.projects import ProjectDirectory
from services.dispatch.service_layer.sla import (
    DutyDirectory,
    SlaPolicies,
    name_people_on_duty,
    policies_for,
    with_sla,
)
from shared.auth import Principal, Role
from shared.errors import ConcurrencyConflict, InvalidInput, NotFound
from shared.events.base import EventData
from shared.events.catalogue import parse
from shared.events.project import ProjectDetails
from shared.events.recorded import RecordedEvent
from shared.events.workorder import WorkOrderReported
from shared.ids import new_uuid


@dataclass(frozen=True, slots=True)
class LoadedWorkOrder:
    """A work order folded from its stream, with its stream coordinates."""

    id: str
    tenant: str
    project: str
    state: WorkOrderState
    events: list[RecordedEvent]
    history: list[tuple[EventData, datetime]]
    """The events parsed, with their times (what the domain folds)."""

    def representation(self) -> dict[str, Any]:
        """The JSON body of `GET /v1/work-orders/{id}`."""
        return work_order_body(self.id, self.tenant, self.project, self.state)


def work_order_body(
    work_order_id: str, tenant: str, project: str, state: WorkOrderState
) -> dict[str, Any]:
    """The JSON representation of a work order's current state."""
    return {"id": work_order_id, "tenant": tenant, "project": project, **state.summary()}


async def report_work_order(
    store: EventStore,
    projects: ProjectDirectory,
    policies: SlaPolicies,
    command: ReportWorkOrder,
    ctx: CommandContext,
    staff: StaffDirectory | None = None,
    *,
    privacy: Privacy,
) -> Outcome:
    """Open a new work order in a registered project the caller may act in.

    The report is sealed before it is appended (`privacy`): the event, the listing row and
    the answer stored for a replay hold the reporter's reference, masks and tokens, and
    the residents' blind index gets the order's row in the same transaction.

    With a `staff` directory, the first offer (or the pending queue) follows the report
    in the same append when the project has a dispatch rule for the category, and a
    resident's own report is owned by the first receiver it names (首按责任制).
    """
    tenant = ctx.principal.tenant
    visible = ctx.principal.can_access(tenant, command.project)
    details = await projects.details(tenant, command.project) if visible else None
    if details is None:
        raise InvalidInput(
            f"project {command.project!r} is not registered for tenant {tenant!r} "
            "or not visible to you",
            code="unknown_project",
        )
    command_fingerprint = fingerprint(command, None, privacy.fingerprint_key)
    # No look-up of the caller's key first: the append finds a key already stored in the
    # same transaction that would record it, and answers the first result then
    # (`duplicate_of`). A retry costs a decision made for nothing; every first report
    # saves a read of its own.
    if command.received_at is not None:
        # How far back is the policy's to say; decide() knows no policy.
        current = await policies.current(tenant, command.project)
        current.check_received_at(command.received_at, ctx.now)
    stream = Stream(str(new_uuid()), tenant, command.project, 0)
    receiver = None
    if ctx.actor.role is Role.RESIDENT:
        receiver = await first_receiver_of(staff, tenant, command.project, stream.id, ctx.now)
    decided = decide(None, command, ctx.actor, ctx.now, receiver)
    decided = [as_reported_in(e, details) for e in decided]
    decided, resident = await sealed_reported(decided, tenant, stream.id, privacy)
    decided = await dispatch_after(
        staff, tenant, command.project, stream.id, None, decided, ctx.now
    )
    answer = Answer(Effect.CREATED, {}, command_fingerprint)
    numbering = Numbering(
        project_code(command.project, details.code), local_day(ctx.now, details.time_zone)
    )
    return await append_work_order(
        store,
        policies,
        stream,
        ([], None),
        decided,
        ctx,
        answer,
        duty_of(staff),
        numbering=numbering,
        resident=resident,
    )


async def execute(
    store: EventStore,
    policies: SlaPolicies,
    work_order_id: str,
    command: Command,
    ctx: CommandContext,
    staff: StaffDirectory | None = None,
) -> Outcome:
    """Run a command on an existing work order.

    An answer to an offer that loses a race (another append got there first) is decided
    again on the fresh stream, so the loser of a grab hears "taken" rather than a bare
    version conflict; other commands leave the retry to the client (`ConcurrencyConflict`).

    A repeated `Idempotency-Key` of the caller replays only once the caller is known to
    see the work order (`NotFound` otherwise, as for a read) and their role may give the command.
    """
    loaded = await load_work_order(store, work_order_id, ctx.principal)
    command_fingerprint = fingerprint(command, work_order_id)
    replay = await earlier_outcome(store, ctx, command, command_fingerprint)
    if replay is not None:
        return replay
    retries = _OFFER_ANSWER_RETRIES if isinstance(command, AcceptOffer | DeclineOffer) else 0
    for attempt in range(retries + 1):
        try:
            return await _execute_once(
                store, policies, loaded, command, ctx, staff, command_fingerprint
            )
        except ConcurrencyConflict:
            if attempt == retries or ctx.expected_version is not None:
                raise
            loaded = await load_work_order(store, work_order_id, ctx.principal)
    raise AssertionError("unreachable: the last attempt returns or raises")


_OFFER_ANSWER_RETRIES = 3
"""Bound on re-deciding an offer answer after a conflict (each one sees a newer stream)."""


async def _execute_once(
    store: EventStore,
    policies: SlaPolicies,
    loaded: LoadedWorkOrder,
    command: Command,
    ctx: CommandContext,
    staff: StaffDirectory | None,
    command_fingerprint: str,
) -> Outcome:
    work_order_id = loaded.id
    version = loaded.state.version
    ctx.ensure_current(version)
    decided = decide(loaded.state, command, ctx.actor, ctx.now)
    decided = await dispatch_after(
        staff, loaded.tenant, loaded.project, work_order_id, loaded.state, decided, ctx.now
    )
    guard = await acceptance_guard(staff, loaded.tenant, loaded.project, loaded.state, decided)
    stream = Stream(work_order_id, loaded.tenant, loaded.project, version)
    answer = Answer(Effect.APPLIED, {}, command_fingerprint)
    before = (loaded.history, loaded.state)
    return await append_work_order(
        store, policies, stream, before, decided, ctx, answer, duty_of(staff), guard
    )


async def load_work_order(
    store: EventStore, work_order_id: str, principal: Principal
) -> LoadedWorkOrder:
    """Fold a work order the caller may see; `NotFound` for anything else, including other
    projects'."""
    events = await store.load(work_order_id) if _is_uuid(work_order_id) else []
    if not events or not principal.can_access(events[0].tenant, events[0].project):
        raise NotFound(f"work order {work_order_id} not found", code="work_order_not_found")
    history = [(parse(e.type_name, e.data), e.occurred_at) for e in events]
    state = fold(history)
    assert state is not None
    if not can_read(Actor(subject=principal.subject, role=principal.role), state):
        raise NotFound(f"work order {work_order_id} not found", code="work_order_not_found")
    tenant, project = events[0].tenant, events[0].project
    return LoadedWorkOrder(work_order_id, tenant, project, state, events, history)


async def append_work_order(
    store: EventStore,
    policies: SlaPolicies,
    stream: Stream,
    before: tuple[list[tuple[EventData, datetime]], WorkOrderState | None],
    decided: list[EventData],
    ctx: CommandContext,
    answer: Answer,
    duty: DutyDirectory | None = None,
    load_guard: LoadGuard | None = None,
    numbering: Numbering | None = None,
    resident: ResidentEntry | None = None,
) -> Outcome:
    """Append `decided` with the SLA events they cause, the listing row and every timer.

    With `duty`, an event-driven escalation to a directory role names its people;
    with `load_guard`, the store refuses an acceptance over the person's load limit;
    with `numbering`, the store numbers the new work order in the same transaction;
    with `resident`, the residents' blind index gets the new order's row."""
    history, state = before
    sla = fold_sla(history)
    book = await policies_for(policies, stream.tenant, stream.project, sla)
    events, new_state, timers = with_sla(
        history, state, decided, book, stream.id, stream.project, ctx.now, sla
    )
    if duty is not None:
        events = await name_people_on_duty(duty, stream.tenant, stream.project, events, ctx.now)
    timers = (*timers, *offer_timer_rows(new_state, stream.id))
    body = work_order_body(stream.id, stream.tenant, stream.project, new_state)
    view = WorkOrderView(
        tenant=stream.tenant,
        project=stream.project,
        kind=str(new_state.kind),
        category=new_state.category,
        urgency=str(new_state.urgency),
        status=str(new_state.status),
        owner=new_state.owner,
        assignee=new_state.assignee,
        reporter_resident_id=new_state.reporter.resident_id,
        building=new_state.location.building,
        reported_at=new_state.reported_at,
        summary=body,
        assigned_at=new_state.assigned_at,
        offered_to=offered_to_column(() if new_state.assignee else new_state.offered_to),
        number=new_state.number,
    )
    answer = Answer(answer.effect, body, answer.fingerprint)
    inline: tuple[Inline, ...] = (view, StreamTimers(timers))
    inline += tuple(value for value in (load_guard, numbering, resident) if value is not None)
    return await append_decided(store, stream, events, ctx, answer, inline)


def as_reported_in(event: EventData, details: ProjectDetails) -> EventData:
    """A report event with the project's name and the building's registered name, as
    messages to residents name them (the ids stay in the event for integrators)."""
    if not isinstance(event, WorkOrderReported):
        return event
    building = event.location.building
    names = {b.id: b.name for b in details.buildings}
    update = {"project_name": details.name, "building_name": names.get(building or "")}
    return event.model_copy(update=update)


def duty_of(staff: StaffDirectory | None) -> DutyDirectory | None:
    """The staff directory as the duty roster escalations are resolved with, if it is one."""
    return staff if isinstance(staff, DutyDirectory) else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
