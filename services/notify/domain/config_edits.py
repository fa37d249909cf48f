"""Changes to one tenant's notify configuration, each giving a new, validated configuration.

A configuration is checked as a whole (roles name known contacts, the operator is a
contact), so every change builds the new configuration and validates it again: a change
that would leave it inconsistent is refused (`ValueError`) and the old one stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.notify.domain.config import Contact, RouteTarget, TenantConfig
from services.notify.domain.digest import DigestPolicy
from services.notify.domain.model import ChannelName
from services.notify.domain.quiet_hours import QuietHours
from shared.redact import validation_summary


class TenantSettings(BaseModel):
    """A tenant's policies beside its contacts, roles and routes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resident_channels: tuple[ChannelName, ...]
    resident_language: str
    quiet_hours: QuietHours
    digest: DigestPolicy
    operator: str | None = Field(default=None, description="a contact told of unreached messages")


def settings_of(config: TenantConfig) -> TenantSettings:
    """The policies of `config`."""
    return TenantSettings(
        resident_channels=config.resident_channels,
        resident_language=config.resident_language,
        quiet_hours=config.quiet_hours,
        digest=config.digest,
        operator=config.operator,
    )


def with_contact(config: TenantConfig, person_id: str, contact: Contact) -> TenantConfig:
    """`config` with `person_id` reached as `contact` (added or replaced)."""
    return _revalidated(config, contacts={**config.contacts, person_id: contact})


def with_contact_patched(
    config: TenantConfig, person_id: str, patch: Mapping[str, Any]
) -> TenantConfig:
    """`config` with a JSON Merge Patch (RFC 7396) applied to `person_id`'s contact: absent
    fields keep their value (a robot's URL need not be sent again), `null` removes one."""
    current = config.contacts.get(person_id)
    if current is None:
        raise LookupError(person_id)
    merged = merge_patch(current.model_dump(mode="json", exclude_none=True), patch)
    if not isinstance(merged, dict):
        raise ValueError("a contact is a JSON object")
    try:
        contact = Contact.model_validate(merged)
    except ValidationError as exc:
        raise ValueError(validation_summary(exc)) from None
    return with_contact(config, person_id, contact)


def without_contact(config: TenantConfig, person_id: str) -> TenantConfig:
    """`config` without `person_id`; refused while a role or the operator still names them."""
    if person_id not in config.contacts:
        raise LookupError(person_id)
    contacts = {k: v for k, v in config.contacts.items() if k != person_id}
    return _revalidated(config, contacts=contacts)


def with_role(
    config: TenantConfig, role: str, people: tuple[str, ...], project: str | None
) -> TenantConfig:
    """`config` with `role` held by `people`, for the whole tenant or one project.

    An empty list for a project says nobody holds it there; for the tenant it removes the
    role (messages to it then reach the operator: "Messages that reach nobody").
    """
    if project is None:
        roles = {k: v for k, v in config.roles.items() if k != role}
        if people:
            roles[role] = people
        return _revalidated(config, roles=roles)
    project_config = config.projects.get(project)
    project_roles = dict(project_config.roles) if project_config else {}
    project_roles[role] = people
    return _with_project(config, project, roles=project_roles)


def with_route(
    config: TenantConfig,
    event_type: str,
    targets: tuple[RouteTarget, ...] | None,
    project: str | None,
) -> TenantConfig:
    """`config` routing `event_type` to `targets` (`()` silences it; None goes back to the
    default route), for the whole tenant or one project."""
    if project is None:
        routes = {k: v for k, v in config.routes.items() if k != event_type}
        if targets is not None:
            routes[event_type] = targets
        return _revalidated(config, routes=routes)
    project_config = config.projects.get(project)
    project_routes = dict(project_config.routes) if project_config else {}
    project_routes.pop(event_type, None)
    if targets is not None:
        project_routes[event_type] = targets
    return _with_project(config, project, routes=project_routes)


def with_settings(config: TenantConfig, settings: TenantSettings) -> TenantConfig:
    """`config` with new policies."""
    return _revalidated(config, **settings.model_dump())


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch of `target` by `patch`."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _with_project(config: TenantConfig, project: str, **changes: Any) -> TenantConfig:
    current = config.projects.get(project)
    base = current.model_dump() if current is not None else {}
    projects = {**config.projects}
    dumped = {k: v.model_dump() for k, v in projects.items()}
    dumped[project] = {**base, **changes}
    return _revalidated(config, projects=dumped)


def _revalidated(config: TenantConfig, **changes: Any) -> TenantConfig:
    # `model_copy(update=...)` skips validation: build the whole configuration again so its
    # cross-checks (roles name contacts, the operator is a contact) run on the result.
    data = {**config.model_dump(), **changes}
    try:
        return TenantConfig.model_validate(data)
    except ValidationError as exc:
        raise ValueError(validation_summary(exc)) from None
