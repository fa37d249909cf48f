"""The project registry: which projects exist, and the handler that registers them."""

from __future__ import annotations

from typing import Protocol

from services.dispatch.domain.commands import RegisterProject, UpdateProject
from services.dispatch.domain.project import ProjectState, decide_project, fold_project
from services.dispatch.service_layer.append import Answer, Stream, append_decided
from services.dispatch.service_layer.context import CommandContext, Effect, Outcome
from services.dispatch.service_layer.idempotency import earlier_outcome, fingerprint
from services.dispatch.service_layer.ports import EventStore, ProjectView
from shared.errors import NotFound
from shared.events.catalogue import parse
from shared.events.project import ProjectDetails


def project_stream_id(tenant: str, project: str) -> str:
    """The event stream of a project's registry entries."""
    return f"project:{tenant}:{project}"


class ProjectDirectory(Protocol):
    """Which projects are registered; work orders for any other project are refused."""

    async def exists(self, tenant: str, project: str) -> bool:
        """Whether `project` is registered for `tenant`."""
        ...

    def remember(self, tenant: str, project: str, details: ProjectDetails) -> None:
        """Note the facts of a project this process has just registered or changed."""
        ...

    async def details(self, tenant: str, project: str) -> ProjectDetails | None:
        """The project's registered facts as they are now; None if it is not registered."""
        ...


async def change_project(
    store: EventStore,
    projects: ProjectDirectory,
    project: str,
    command: RegisterProject | UpdateProject,
    ctx: CommandContext,
) -> Outcome:
    """Register a project or update its registered facts, as events on its own stream."""
    tenant = ctx.principal.tenant
    if not ctx.principal.can_access(tenant, project):
        raise NotFound(f"project {project!r} not found", code="unknown_project")
    command_fingerprint = fingerprint(command, project)
    replay = await earlier_outcome(store, ctx, command, command_fingerprint)
    if replay is not None:
        return replay
    stream_id = project_stream_id(tenant, project)
    state = await load_project_state(store, stream_id)
    decided = decide_project(state, command, ctx.actor)
    details = decided[-1].model_dump(mode="json")["details"]
    view = ProjectView(
        tenant=tenant,
        project=project,
        name=details["name"],
        time_zone=details["time_zone"],
        households=details["households"],
        details=details,
    )
    stream = Stream(stream_id, tenant, project, state.version if state else 0)
    answer = Answer(
        Effect.CREATED if state is None else Effect.APPLIED,
        {"tenant": tenant, "project": project, **details},
        command_fingerprint,
    )
    outcome = await append_decided(store, stream, decided, ctx, answer, (view,))
    projects.remember(tenant, project, ProjectDetails.model_validate(details))
    return outcome


async def load_project_state(store: EventStore, stream_id: str) -> ProjectState | None:
    """Fold a project's registry stream."""
    events = await store.load(stream_id)
    return fold_project((parse(e.type_name, e.data), e.occurred_at) for e in events)
