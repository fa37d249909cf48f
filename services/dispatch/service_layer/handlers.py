"""Command handlers: load the stream, let the domain decide, append in one transaction.

Handlers are plain async functions; their dependencies (the store, the project
directory) arrive as arguments, wired once in `entrypoints.bootstrap`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from services.dispatch.domain.commands import (
    Command,
    RegisterProject,
    ReportWorkOrder,
    UpdateProject,
)
from services.dispatch.domain.permissions import can_read
from services.dispatch.domain.project import ProjectState, decide_project, fold_project
from services.dispatch.domain.workorder import Actor, WorkOrderState, decide, evolve, fold
from services.dispatch.service_layer.ports import (
    AppendBatch,
    EventStore,
    IdempotencyRecord,
    NewEvent,
    ProjectView,
    WorkOrderView,
)
from services.dispatch.service_layer.projects import ProjectDirectory, project_stream_id
from shared.auth import Principal
from shared.errors import InvalidInput, NotFound, PreconditionFailed
from shared.events.base import EventData
from shared.events.catalogue import parse
from shared.events.recorded import EventMetadata, RecordedEvent
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who sends a command, when, and with which delivery guarantees."""

    principal: Principal
    now: datetime
    correlation_id: str
    idempotency_key: str | None = None
    expected_version: int | None = None

    @property
    def actor(self) -> Actor:
        """The domain's view of the caller."""
        return Actor(subject=self.principal.subject, role=self.principal.role)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a command: HTTP status, the representation, and whether it was a replay."""

    status_code: int
    body: dict[str, Any]
    version: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class LoadedWorkOrder:
    """A work order folded from its stream, with its stream coordinates."""

    id: str
    tenant: str
    project: str
    state: WorkOrderState
    events: list[RecordedEvent]

    def representation(self) -> dict[str, Any]:
        """The JSON body of `GET /v1/work-orders/{id}`."""
        return work_order_body(self.id, self.tenant, self.project, self.state)


def work_order_body(
    work_order_id: str, tenant: str, project: str, state: WorkOrderState
) -> dict[str, Any]:
    """The JSON representation of a work order's current state."""
    return {"id": work_order_id, "tenant": tenant, "project": project, **state.summary()}


async def report_work_order(
    store: EventStore, projects: ProjectDirectory, command: ReportWorkOrder, ctx: CommandContext
) -> Outcome:
    """Open a new work order in a registered project the caller may act in."""
    tenant = ctx.principal.tenant
    fingerprint = _fingerprint(command, None)
    replay = await _replay(store, tenant, ctx.idempotency_key, fingerprint)
    if replay is not None:
        return replay
    if not ctx.principal.can_access(tenant, command.project) or not await projects.exists(
        tenant, command.project
    ):
        raise InvalidInput(
            f"project {command.project!r} is not registered for tenant {tenant!r} or not visible to you",
            code="unknown_project",
        )
    work_order_id = str(uuid.uuid4())
    decided = decide(None, command, ctx.actor, ctx.now)
    return await _append_work_order(
        store, work_order_id, tenant, command.project, None, decided, ctx, fingerprint, 201
    )


async def execute(
    store: EventStore, work_order_id: str, command: Command, ctx: CommandContext
) -> Outcome:
    """Run a command on an existing work order."""
    tenant = ctx.principal.tenant
    fingerprint = _fingerprint(command, work_order_id)
    replay = await _replay(store, tenant, ctx.idempotency_key, fingerprint)
    if replay is not None:
        return replay
    loaded = await load_work_order(store, work_order_id, ctx.principal)
    if ctx.expected_version is not None and ctx.expected_version != loaded.state.version:
        raise PreconditionFailed(
            f"work order is at version {loaded.state.version}, not {ctx.expected_version}; reload and retry",
            current_version=loaded.state.version,
        )
    decided = decide(loaded.state, command, ctx.actor, ctx.now)
    return await _append_work_order(
        store,
        work_order_id,
        loaded.tenant,
        loaded.project,
        loaded.state,
        decided,
        ctx,
        fingerprint,
        200,
    )


async def load_work_order(
    store: EventStore, work_order_id: str, principal: Principal
) -> LoadedWorkOrder:
    """Fold a work order the caller may see; 404 for anything else, including other projects'."""
    events = await store.load(work_order_id) if _is_uuid(work_order_id) else []
    if not events or not principal.can_access(events[0].tenant, events[0].project):
        raise NotFound(f"work order {work_order_id} not found", code="work_order_not_found")
    state = fold((parse(e.type_name, e.data), e.occurred_at) for e in events)
    assert state is not None
    if not can_read(Actor(subject=principal.subject, role=principal.role), state):
        raise NotFound(f"work order {work_order_id} not found", code="work_order_not_found")
    return LoadedWorkOrder(work_order_id, events[0].tenant, events[0].project, state, events)


async def _append_work_order(
    store: EventStore,
    work_order_id: str,
    tenant: str,
    project: str,
    state: WorkOrderState | None,
    decided: list[EventData],
    ctx: CommandContext,
    fingerprint: str,
    status_code: int,
) -> Outcome:
    expected = state.version if state is not None else 0
    new_state = state
    for event in decided:
        new_state = evolve(new_state, event, ctx.now)
    assert new_state is not None
    body = work_order_body(work_order_id, tenant, project, new_state)
    view = WorkOrderView(
        tenant=tenant,
        project=project,
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
    )
    return await _append(
        store, work_order_id, tenant, project, expected, decided, ctx, fingerprint, status_code, body,
        work_order_view=view,
    )  # fmt: skip


async def _append(
    store: EventStore,
    stream_id: str,
    tenant: str,
    project: str,
    expected: int,
    decided: list[EventData],
    ctx: CommandContext,
    fingerprint: str,
    status_code: int,
    body: dict[str, Any],
    *,
    work_order_view: WorkOrderView | None = None,
    project_view: ProjectView | None = None,
) -> Outcome:
    version = expected + len(decided)
    body = {**body, "version": version}
    idempotency = (
        IdempotencyRecord(tenant, ctx.idempotency_key, fingerprint, stream_id, status_code, body)
        if ctx.idempotency_key
        else None
    )
    batch = AppendBatch(
        stream_id=stream_id,
        expected_version=expected,
        tenant=tenant,
        project=project,
        events=tuple(
            NewEvent(
                uuid.uuid4(),
                type(e).type_name,
                type(e).schema_version,
                ctx.now,
                e.model_dump(mode="json"),
            )
            for e in decided
        ),
        metadata=EventMetadata(
            actor=ctx.principal.subject,
            correlation_id=ctx.correlation_id,
            idempotency_key=ctx.idempotency_key,
        ),
        idempotency=idempotency,
        work_order_view=work_order_view,
        project_view=project_view,
    )
    result = await store.append(batch)
    if result.duplicate_of is not None:
        return _replayed(result.duplicate_of, fingerprint)
    log.info(
        "events.appended",
        stream_id=stream_id,
        tenant=tenant,
        project=project,
        version=version,
        events=[type(e).type_name for e in decided],
        actor=ctx.principal.subject,
    )
    return Outcome(status_code, body, version)


async def _replay(
    store: EventStore, tenant: str, key: str | None, fingerprint: str
) -> Outcome | None:
    if key is None:
        return None
    earlier = await store.idempotent_result(tenant, key)
    return _replayed(earlier, fingerprint) if earlier is not None else None


def _replayed(earlier: IdempotencyRecord, fingerprint: str) -> Outcome:
    log.info("command.replayed", idempotency_key=earlier.key, stream_id=earlier.stream_id)
    if earlier.fingerprint != fingerprint:
        raise InvalidInput(
            f"Idempotency-Key {earlier.key!r} was already used for a different command",
            code="idempotency_key_reused",
        )
    return Outcome(
        earlier.status_code,
        earlier.response,
        int(earlier.response.get("version", 0)),
        replayed=True,
    )


def _fingerprint(command: Command, target: str | None) -> str:
    payload = orjson.dumps(command.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(f"{command.name}:{target or ''}:".encode() + payload).hexdigest()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def change_project(
    store: EventStore,
    projects: ProjectDirectory,
    project: str,
    command: RegisterProject | UpdateProject,
    ctx: CommandContext,
) -> Outcome:
    """Register a project or update its registered facts, as events on its own stream."""
    tenant = ctx.principal.tenant
    fingerprint = _fingerprint(command, project)
    replay = await _replay(store, tenant, ctx.idempotency_key, fingerprint)
    if replay is not None:
        return replay
    if not ctx.principal.can_access(tenant, project):
        raise NotFound(f"project {project!r} not found", code="unknown_project")
    stream_id = project_stream_id(tenant, project)
    state = await load_project_state(store, stream_id)
    decided = decide_project(state, command, ctx.actor)
    details = decided[-1].model_dump(mode="json")["details"]
    body = {"tenant": tenant, "project": project, **details}
    view = ProjectView(
        tenant=tenant,
        project=project,
        name=details["name"],
        time_zone=details["time_zone"],
        households=details["households"],
        details=details,
    )
    outcome = await _append(
        store, stream_id, tenant, project, state.version if state else 0, decided, ctx, fingerprint,
        201 if state is None else 200, body, project_view=view,
    )  # fmt: skip
    projects.remember(tenant, project)
    return outcome


async def load_project_state(store: EventStore, stream_id: str) -> ProjectState | None:
    """Fold a project's registry stream."""
    events = await store.load(stream_id)
    return fold_project((parse(e.type_name, e.data), e.occurred_at) for e in events)
