"""Who hears what, edited over HTTP: contacts, roles, routes and the tenant's policies.

Every answer carries the tenant configuration's version as `ETag`; send it back as
`If-Match` to refuse a change when someone else changed the configuration meanwhile. A
contact's credentials (robot and webhook URLs, signing secrets) are written here and
never read back: answers show a URL's host and whether the endpoint signs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.notify.domain.config import (
    DEFAULT_ROUTES,
    Contact,
    RouteTarget,
    TenantConfig,
)
from services.notify.domain.config_edits import (
    TenantSettings,
    settings_of,
    with_contact,
    with_contact_patched,
    with_role,
    with_route,
    with_settings,
    without_contact,
)
from services.notify.entrypoints.deps import NotifyDep
from services.notify.service_layer.configuration import (
    contact_view,
    may_edit,
    may_edit_part,
    may_edit_tenant_wide,
    may_read,
)
from shared.auth import Principal
from shared.errors import InvalidInput, NotFound
from shared.events.catalogue import EVENT_TYPES
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import ETAG, Responses
from shared.inputs import Key

V = TypeVar("V")

router = APIRouter(tags=["configuration"], responses=PROBLEM_RESPONSES)

VERSIONED: Responses = {200: {"headers": {"ETag": ETAG}}}
"""An answer with the configuration's version as `ETag`."""
REMOVED: Responses = {204: {"description": "Removed.", "headers": {"ETag": ETAG}}}
"""A removal, with the configuration's new version as `ETag`."""

RoleName = Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
ProjectQuery = Annotated[
    Key | None,
    Query(description="A project's own setting; without it, the tenant's (every project's)"),
]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=32,
        description="The `ETag` read before: refuse the change if the configuration moved",
    ),
]


class Endpoint(BaseModel):
    """A robot's or webhook's endpoint as answers show it."""

    url: str = Field(description="scheme, host and port only: the rest may hold a credential")
    signed: bool


class ContactView(BaseModel):
    """A contact as answers show it (credentials never included)."""

    id: str
    name: str | None
    language: str
    channels: list[str]
    email: str | None
    phone: str | None
    webhook: Endpoint | None
    wecom: Endpoint | None
    dingtalk: Endpoint | None
    feishu: Endpoint | None


class People(BaseModel):
    """Who holds a role."""

    model_config = ConfigDict(extra="forbid")

    people: tuple[Key, ...] = Field(max_length=200)


class RoleView(BaseModel):
    """A role and who holds it, and where that comes from."""

    role: str
    people: list[str]
    source: str = Field(description="`project` (its own list) or `tenant`")


class Targets(BaseModel):
    """Who hears of an event type; `[]` silences it."""

    model_config = ConfigDict(extra="forbid")

    targets: tuple[RouteTarget, ...] = Field(max_length=50)


class RouteView(BaseModel):
    """An event type's route and where it comes from."""

    event_type: str
    targets: list[RouteTarget]
    source: str = Field(description="`project`, `tenant` or `default`")


async def _editor(principal: PrincipalDep) -> Principal:
    # A dependency, so a caller who may not edit is refused before their body is read.
    may_edit(principal, None)
    return principal


async def _reader(principal: PrincipalDep) -> Principal:
    may_read(principal)
    return principal


EditorDep = Annotated[Principal, Depends(_editor)]
ReaderDep = Annotated[Principal, Depends(_reader)]


def _etag(version: int) -> str:
    return f'"{version}"'


def _expected(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    digits = if_match.strip().strip('"')
    if not digits.isdigit():
        raise InvalidInput("If-Match is the ETag of a configuration read before", code="bad_etag")
    return int(digits)


async def _edit(
    notify: NotifyDep,
    principal: Principal,
    change: Callable[[TenantConfig], TenantConfig],
    if_match: str | None,
    response: Response,
) -> TenantConfig:
    changed, version = await notify.config.edit(
        principal.tenant, change, principal.subject, _expected(if_match)
    )
    response.headers["ETag"] = _etag(version)
    return changed


def _read(notify: NotifyDep, principal: Principal, response: Response) -> TenantConfig:
    response.headers["ETag"] = _etag(notify.config.version(principal.tenant))
    return notify.config.tenant(principal.tenant)


def _visible_project(principal: Principal, project: str | None) -> None:
    if project is not None and not principal.can_access(principal.tenant, project):
        raise NotFound(f"no project {project}", code="unknown_project")


@router.get(
    "/v1/contacts",
    summary="The tenant's contacts",
    response_model=list[ContactView],
    responses=VERSIONED,
)
async def list_contacts(
    notify: NotifyDep, principal: ReaderDep, response: Response
) -> list[dict[str, Any]]:
    """Staff, group chats and integrators notify can reach, and how."""
    config = _read(notify, principal, response)
    return [contact_view(pid, c) for pid, c in sorted(config.contacts.items())]


@router.get(
    "/v1/contacts/{person_id}",
    summary="One contact",
    response_model=ContactView,
    responses=VERSIONED,
)
async def get_contact(
    person_id: Key, notify: NotifyDep, principal: ReaderDep, response: Response
) -> dict[str, Any]:
    """One contact (credentials never included)."""
    contact = _read(notify, principal, response).contacts.get(person_id)
    if contact is None:
        raise NotFound(f"no contact {person_id}", code="unknown_contact")
    return contact_view(person_id, contact)


@router.put(
    "/v1/contacts/{person_id}",
    summary="Add or replace a contact",
    response_model=ContactView,
    responses=VERSIONED,
)
async def put_contact(
    person_id: Key,
    contact: Contact,
    notify: NotifyDep,
    principal: EditorDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """The whole contact, credentials included (use PATCH to change a part)."""
    changed = await _edit(
        notify, principal, lambda c: with_contact(c, person_id, contact), if_match, response
    )
    return contact_view(person_id, changed.contacts[person_id])


@router.patch(
    "/v1/contacts/{person_id}",
    summary="Change part of a contact",
    response_model=ContactView,
    openapi_extra={"requestBody": {"content": {"application/merge-patch+json": {}}}},
    responses=VERSIONED,
)
async def patch_contact(
    person_id: Key,
    notify: NotifyDep,
    principal: EditorDep,
    response: Response,
    patch: Annotated[dict[str, Any], Body(description="JSON Merge Patch (RFC 7396)")],
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """A JSON Merge Patch: fields left out keep their value (a robot's URL need not be sent
    again), `null` removes one."""
    changed = await _edit(
        notify,
        principal,
        lambda c: with_contact_patched(c, person_id, patch),
        if_match,
        response,
    )
    return contact_view(person_id, changed.contacts[person_id])


@router.delete(
    "/v1/contacts/{person_id}", summary="Remove a contact", status_code=204, responses=REMOVED
)
async def delete_contact(
    person_id: Key,
    notify: NotifyDep,
    principal: EditorDep,
    response: Response,
    if_match: IfMatch = None,
) -> Response:
    """Refused (422) while a role or the operator still names the contact."""
    await _edit(notify, principal, lambda c: without_contact(c, person_id), if_match, response)
    return Response(status_code=204, headers={"ETag": response.headers["ETag"]})


@router.get(
    "/v1/roles", summary="Who holds each role", response_model=list[RoleView], responses=VERSIONED
)
async def list_roles(
    notify: NotifyDep, principal: ReaderDep, response: Response, project: ProjectQuery = None
) -> list[dict[str, Any]]:
    """The tenant's roles, or a project's (its own lists over the tenant's)."""
    config = _read(notify, principal, response)
    _visible_project(principal, project)
    own = config.projects[project].roles if project in config.projects else {}
    return [
        {"role": role, "people": list(people), "source": source}
        for role, people, source in _layered({}, config.roles, own)
    ]


@router.put(
    "/v1/roles/{role}", summary="Set who holds a role", response_model=RoleView, responses=VERSIONED
)
async def put_role(
    role: RoleName,
    body: People,
    notify: NotifyDep,
    principal: EditorDep,
    response: Response,
    project: ProjectQuery = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """People must be contacts. For the tenant, an empty list removes the role."""
    may_edit_part(principal, project)
    await _edit(
        notify, principal, lambda c: with_role(c, role, body.people, project), if_match, response
    )
    return {
        "role": role,
        "people": list(body.people),
        "source": "tenant" if project is None else "project",
    }


@router.get(
    "/v1/routes",
    summary="Who hears of each event type",
    response_model=list[RouteView],
    responses=VERSIONED,
)
async def list_routes(
    notify: NotifyDep, principal: ReaderDep, response: Response, project: ProjectQuery = None
) -> list[dict[str, Any]]:
    """Every routed event type: the project's route, else the tenant's, else the default."""
    config = _read(notify, principal, response)
    _visible_project(principal, project)
    own = config.projects[project].routes if project in config.projects else {}
    return [
        {"event_type": t, "targets": list(targets), "source": source}
        for t, targets, source in _layered(DEFAULT_ROUTES, config.routes, own)
    ]


@router.put(
    "/v1/routes/{event_type}",
    summary="Route an event type",
    response_model=RouteView,
    responses=VERSIONED,
)
async def put_route(
    event_type: Key,
    body: Targets,
    notify: NotifyDep,
    principal: EditorDep,
    response: Response,
    project: ProjectQuery = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Replace who hears of `event_type` (e.g. `workorder.completed`); `[]` silences it."""
    _known_event_type(event_type)
    may_edit_part(principal, project)
    await _edit(
        notify,
        principal,
        lambda c: with_route(c, event_type, body.targets, project),
        if_match,
        response,
    )
    return {
        "event_type": event_type,
        "targets": list(body.targets),
        "source": "tenant" if project is None else "project",
    }


@router.delete(
    "/v1/routes/{event_type}",
    summary="Go back to the inherited route",
    status_code=204,
    responses=REMOVED,
)
async def delete_route(
    event_type: Key,
    notify: NotifyDep,
    principal: EditorDep,
    response: Response,
    project: ProjectQuery = None,
    if_match: IfMatch = None,
) -> Response:
    """The project then follows the tenant's route, the tenant the default one."""
    _known_event_type(event_type)
    may_edit_part(principal, project)
    await _edit(
        notify, principal, lambda c: with_route(c, event_type, None, project), if_match, response
    )
    return Response(status_code=204, headers={"ETag": response.headers["ETag"]})


@router.get(
    "/v1/notify-settings",
    summary="The tenant's policies",
    response_model=TenantSettings,
    responses=VERSIONED,
)
async def get_settings(
    notify: NotifyDep, principal: ReaderDep, response: Response
) -> TenantSettings:
    """How residents are reached, quiet hours, digests and the operator contact."""
    return settings_of(_read(notify, principal, response))


@router.put(
    "/v1/notify-settings",
    summary="Change the tenant's policies",
    response_model=TenantSettings,
    responses=VERSIONED,
)
async def put_settings(
    body: TenantSettings,
    notify: NotifyDep,
    principal: EditorDep,
    response: Response,
    if_match: IfMatch = None,
) -> TenantSettings:
    """Every project inherits these, so a token for every project of the tenant is needed."""
    may_edit_tenant_wide(principal)
    changed = await _edit(notify, principal, lambda c: with_settings(c, body), if_match, response)
    return settings_of(changed)


def _layered(
    default: Mapping[str, V], tenant: Mapping[str, V], project: Mapping[str, V]
) -> list[tuple[str, V, str]]:
    """Each key's value from the most specific layer that sets it, and which layer that is."""
    found = {k: (v, "default") for k, v in default.items()}
    found.update({k: (v, "tenant") for k, v in tenant.items()})
    found.update({k: (v, "project") for k, v in project.items()})
    return [(k, v, source) for k, (v, source) in sorted(found.items())]


def _known_event_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise NotFound(f"no event type {event_type}", code="unknown_event_type")
