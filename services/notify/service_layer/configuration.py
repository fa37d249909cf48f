"""notify's configuration as the running service holds it: read from its database, edited
through the API, and seen by every notify process within a refresh.

The handler and the sender ask `LiveConfig` for a tenant's configuration on every event
and delivery; it answers from memory. A change made through this process's API is seen
at once; one made through another process is seen after its next `refresh` (a loop of
the service, every `CONFIG_REFRESH_SECONDS`), which reads only the tenants' versions
unless one moved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.notify.domain.config import (
    URL_CHANNELS,
    Contact,
    NotifyConfig,
    TenantConfig,
)
from services.notify.domain.model import ChannelName
from services.notify.domain.retry import RetryPolicy
from shared.auth import Principal, Role
from shared.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from shared.redact import redact_url

DEFAULTS = "*"
"""The row of the configuration of tenants without one of their own (never a tenant slug)."""

EDITORS = frozenset({Role.SUPERVISOR, Role.PROJECT_MANAGER})
"""Roles that may change who hears what."""
READERS = EDITORS | {Role.HQ_QUALITY}
"""Roles that may read the configuration (credentials never shown)."""


class Configuration(Protocol):
    """What the handler and the sender read: each tenant's configuration, the retry policies."""

    def tenant(self, tenant: str) -> TenantConfig:
        """The configuration of `tenant`."""
        ...

    def retry_policy(self, channel: ChannelName) -> RetryPolicy:
        """The retry policy of a channel."""
        ...


@dataclass(frozen=True)
class StoredConfig:
    """The configuration as stored, with each row's version (`DEFAULTS` included)."""

    config: NotifyConfig
    versions: Mapping[str, int]


class ConfigStore(Protocol):
    """Where the configuration is kept."""

    async def load(self) -> StoredConfig:
        """Every row."""
        ...

    async def versions(self) -> dict[str, int]:
        """Each row's version, to tell whether anything changed."""
        ...

    async def save_tenant(
        self, tenant: str, config: TenantConfig, expected_version: int | None, by: str
    ) -> int:
        """Store `tenant`'s configuration if its version is still `expected_version` (None:
        the tenant has no row yet); its new version. `ConcurrencyConflict` otherwise."""
        ...

    async def import_config(self, config: NotifyConfig, replace: bool, by: str) -> list[str]:
        """Store a whole configuration (a file's): every tenant it names and the defaults;
        without `replace`, only the rows not stored yet. The rows written."""
        ...


class LiveConfig:
    """The configuration in memory, refreshed from the store; edits go through it."""

    def __init__(self, store: ConfigStore, stored: StoredConfig) -> None:
        self._store = store
        self._config = stored.config
        self._versions = dict(stored.versions)

    @classmethod
    async def open(cls, store: ConfigStore) -> LiveConfig:
        """The configuration as the store holds it now."""
        return cls(store, await store.load())

    def tenant(self, tenant: str) -> TenantConfig:
        """The configuration of `tenant` (the defaults' when it has none of its own)."""
        return self._config.tenant(tenant)

    def retry_policy(self, channel: ChannelName) -> RetryPolicy:
        """The retry policy of a channel."""
        return self._config.retry_policy(channel)

    def version(self, tenant: str) -> int:
        """The version of `tenant`'s own configuration; 0 while it uses the defaults."""
        return self._versions.get(tenant, 0)

    async def refresh(self) -> bool:
        """Reload when any row's version moved (another process edited); whether it did."""
        if await self._store.versions() == self._versions:
            return False
        stored = await self._store.load()
        self._config, self._versions = stored.config, dict(stored.versions)
        return True

    async def edit(
        self,
        tenant: str,
        change: Callable[[TenantConfig], TenantConfig],
        by: str,
        expected_version: int | None = None,
    ) -> tuple[TenantConfig, int]:
        """Apply `change` to `tenant`'s configuration and store it; the result and its version.

        A tenant still on the defaults starts from a copy of them. `expected_version` (an
        `If-Match`) refuses the change if someone changed the configuration meanwhile.
        """
        await self.refresh()
        current_version = self._versions.get(tenant)
        if expected_version is not None and expected_version != (current_version or 0):
            raise PreconditionFailed(
                f"the configuration of {tenant} is at version {current_version or 0}",
                code="version_mismatch",
            )
        try:
            changed = change(self._config.tenant(tenant))
        except LookupError as exc:
            raise NotFound(f"no contact {exc.args[0]}", code="unknown_contact") from None
        except ValueError as exc:
            raise InvalidInput(str(exc), code="invalid_configuration") from None
        version = await self._store.save_tenant(tenant, changed, current_version, by)
        tenants = {**self._config.tenants, tenant: changed}
        self._config = self._config.model_copy(update={"tenants": tenants})
        self._versions[tenant] = version
        return changed, version


def may_read(principal: Principal) -> None:
    """Refuse a caller whose role may not read the configuration."""
    if principal.role not in READERS:
        raise Forbidden(
            f"role {principal.role} may not read notify's configuration", code="role_not_allowed"
        )


def may_edit(principal: Principal, project: str | None) -> None:
    """Refuse a caller who may not change this part of the configuration.

    A project's roles and routes are its supervisors' and managers'; the tenant's own
    (which every project inherits) need a token for every project of the tenant. Contacts
    are one directory of the tenant: any supervisor or manager may keep it.
    """
    if principal.role not in EDITORS:
        raise Forbidden(
            f"role {principal.role} may not change notify's configuration",
            code="role_not_allowed",
        )
    if project is None:
        return
    if not principal.can_access(principal.tenant, project):
        raise NotFound(f"no project {project}", code="unknown_project")


def may_edit_tenant_wide(principal: Principal) -> None:
    """Refuse a change every project inherits from a caller not granted every project."""
    may_edit(principal, None)
    if not principal.all_projects:
        raise Forbidden(
            "a change for every project needs a token for every project of the tenant; "
            "name the project (?project=) to change it there",
            code="tenant_wide_change",
        )


def may_edit_part(principal: Principal, project: str | None) -> None:
    """Refuse a change of a project's own setting (`project`) or of the tenant's (None)."""
    if project is None:
        may_edit_tenant_wide(principal)
    else:
        may_edit(principal, project)


def contact_view(person_id: str, contact: Contact) -> dict[str, Any]:
    """A contact as answers show it: a robot's or webhook's URL redacted to its host, and
    whether it signs, never its secret (both are credentials)."""
    view: dict[str, Any] = {"id": person_id, **contact.model_dump(mode="json")}
    for channel in URL_CHANNELS:
        endpoint = contact.endpoint(channel)
        if endpoint is not None:
            view[str(channel)] = {
                "url": redact_url(endpoint.url),
                "signed": endpoint.secret is not None,
            }
    return view
