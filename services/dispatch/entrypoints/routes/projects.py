"""`/v1/projects`: the tenant's project registry (name, time zone, households, buildings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.dispatch.domain.commands import RegisterProject, UpdateProject
from services.dispatch.entrypoints.deps import DispatchDep, ScopeDep
from services.dispatch.entrypoints.routes.responses import outcome_response
from services.dispatch.entrypoints.routes.schemas import Project, ProjectChange, ProjectList
from services.dispatch.service_layer.projects import change_project
from shared.errors import NotFound
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import ETAG, IDEMPOTENT_REPLAYED, LOCATION, answers, json_response

router = APIRouter(prefix="/v1/projects", tags=["projects"])

ProjectId = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,64}$", description="Project slug")]


@router.post(
    "",
    status_code=201,
    response_class=Response,
    responses={
        **answers(
            ProjectChange,
            "The registered project; `Location` names it.",
            201,
            headers={
                "ETag": ETAG,
                "Location": LOCATION,
                "Idempotent-Replayed": IDEMPOTENT_REPLAYED,
            },
        ),
        **PROBLEM_RESPONSES,
    },
    summary="Register a project",
)
async def register(command: RegisterProject, scope: ScopeDep) -> Response:
    """Register a project of the caller's tenant (project manager or headquarters)."""
    dispatch = scope.dispatch
    outcome = await change_project(
        dispatch.store, dispatch.projects, command.project, command, scope.context
    )
    return outcome_response(outcome, location=f"/v1/projects/{command.project}")


@router.put(
    "/{project}",
    response_class=Response,
    responses={
        **answers(
            ProjectChange,
            "The project's new record.",
            headers={"ETag": ETAG, "Idempotent-Replayed": IDEMPOTENT_REPLAYED},
        ),
        **PROBLEM_RESPONSES,
    },
    summary="Update a project",
)
async def update(project: ProjectId, command: UpdateProject, scope: ScopeDep) -> Response:
    """Replace a project's registered facts (households feed the complaint rate)."""
    dispatch = scope.dispatch
    outcome = await change_project(
        dispatch.store, dispatch.projects, project, command, scope.context
    )
    return outcome_response(outcome)


@router.get(
    "",
    response_class=Response,
    responses=answers(ProjectList, "The registered projects the caller may see, by id."),
    summary="List projects",
)
async def list_projects(principal: PrincipalDep, dispatch: DispatchDep) -> Response:
    """The registered projects the caller may see."""
    visible = None if principal.all_projects else principal.projects
    return json_response({"items": await dispatch.projects.list(principal.tenant, visible)})


@router.get(
    "/{project}",
    response_class=Response,
    responses={**answers(Project, "The registered project."), **PROBLEM_RESPONSES},
    summary="Read a project",
)
async def read_project(
    project: ProjectId, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """One registered project."""
    if principal.can_access(principal.tenant, project):
        found = await dispatch.projects.list(principal.tenant, frozenset({project}))
        if found:
            return json_response(found[0])
    raise NotFound(f"project {project!r} not found", code="unknown_project")
