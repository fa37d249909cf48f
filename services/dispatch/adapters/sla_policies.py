"""A tenant's SLA policy versions in the `sla_policies` table, and the current one cached.

Versions are append-only: a running clock names the version it began under, so a stored
version never changes. Version 1 is `default_policy()` (the default promises of docs/sla.md) and is not
stored; a tenant's first published version is 2. Each version has a scope (the projects
it governs, or the whole tenant; see `domain.sla.policy_scope`): a project's current version
is the newest one covering it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cachetools import TTLCache
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.domain.sla import (
    DEFAULT_TIME_ZONE,
    PACKAGE_ONLY,
    PolicyBook,
    PolicyScope,
    PublicHolidays,
    SlaPolicy,
    default_policy,
    governing,
)
from services.dispatch.service_layer.projects import ProjectDirectory
from shared.errors import Conflict

DEFAULT_VERSION = 1
"""The version of `default_policy()`, which every tenant has without publishing anything."""

CACHE_TTL_SECONDS = 30.0
"""How long a process trusts its cached current policy.

A publish refreshes the cache of the process that made it at once; every other dispatch
process sees the new version only when its cached entry is older than this, so for up to
this long a new work order elsewhere may still start its clocks under the previous version
(its events say which one, so nothing is lost or misreported). A project's registered
facts, its time zone among them (`queries.SqlProjectDirectory`), are cached for as long.
"""


ENTRIES_CACHED = 100_000
"""Current policies one process keeps (bounded, like every cache)."""


class TenantHolidays(Protocol):
    """The public-holiday schedules a tenant's calendars follow (`SqlPublicHolidays`)."""

    async def for_tenant(self, tenant: str) -> PublicHolidays:
        """The tenant's own schedules, the operator's and the package's."""
        ...


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One version of a tenant's policy: who published it, when (None for the default), and
    the projects it governs (None: the whole tenant)."""

    version: int
    created_at: datetime | None
    created_by: str | None
    projects: PolicyScope = None

    def summary(self, current: int) -> dict[str, Any]:
        """The JSON of one entry of `GET /v1/sla/policies`."""
        return {
            "version": self.version,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "created_by": self.created_by,
            "default": self.version == DEFAULT_VERSION,
            "current": self.version == current,
            "projects": scope_json(self.projects),
        }


def scope_json(scope: PolicyScope) -> list[str] | None:
    """A scope as stored and shown: its projects sorted, or null for the whole tenant."""
    return None if scope is None else sorted(scope)


def _scope(stored: Any) -> PolicyScope:
    return None if stored is None else frozenset(stored)


class SqlSlaPolicies:
    """`SlaPolicies` on the `sla_policies` table, with publishing and reading of versions."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime],
        projects: ProjectDirectory,
        ttl_seconds: float = CACHE_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        holidays: TenantHolidays | None = None,
    ) -> None:
        self._engine = engine
        self._projects = projects
        self._holidays = holidays
        self._clock = clock
        self._default = default_policy()
        self._cache: TTLCache[tuple[str, str | None], SlaPolicy] = TTLCache(
            maxsize=ENTRIES_CACHED, ttl=ttl_seconds, timer=monotonic
        )
        # Stored versions never change, so earlier versions and zoned copies stay cached;
        # a zoned copy is kept with the schedules its calendars follow.
        self._versions: dict[tuple[str, int], SlaPolicy] = {}
        self._zoned: dict[tuple[str, int, str], tuple[PublicHolidays, SlaPolicy]] = {}

    async def book(self, tenant: str, project: str, versions: Iterable[int]) -> PolicyBook:
        """The current policy and the earlier `versions`, in the project's time zone, their
        calendars following the tenant's public-holiday schedules."""
        zone = await self._time_zone(tenant, project)
        holidays = await self._holidays_of(tenant)
        current = await self.current(tenant, project)
        earlier: dict[int, SlaPolicy] = {}
        for version in set(versions) - {current.version}:
            policy = self._versions.get((tenant, version)) or await self.get(tenant, version)
            if policy is not None:
                self._versions[(tenant, version)] = policy
                earlier[version] = self._in_zone(tenant, policy, zone, holidays)
        return PolicyBook(self._in_zone(tenant, current, zone, holidays), earlier)

    async def book_with_draft(
        self, tenant: str, project: str, versions: Iterable[int], draft: SlaPolicy
    ) -> PolicyBook:
        """The book a project's clocks would have if `draft` were published: `draft` (at
        the version it carries) current, the stored current among the earlier versions.

        The draft is zoned afresh each time and never cached: it is not a stored version,
        and the version it carries may be published later with other content."""
        book = await self.book(tenant, project, versions)
        zone = await self._time_zone(tenant, project)
        holidays = await self._holidays_of(tenant)
        current = draft.in_zone(zone).with_public_holidays(holidays)
        return PolicyBook(current, {**book.earlier, book.current.version: book.current})

    async def next_version(self, tenant: str) -> int:
        """The version the tenant's next published policy gets (2 for the first)."""
        async with self._engine.connect() as conn:
            return await _next_version(conn, tenant)

    async def _holidays_of(self, tenant: str) -> PublicHolidays:
        return PACKAGE_ONLY if self._holidays is None else await self._holidays.for_tenant(tenant)

    def _in_zone(
        self, tenant: str, policy: SlaPolicy, zone: str, holidays: PublicHolidays
    ) -> SlaPolicy:
        key = (tenant, policy.version, zone)
        cached = self._zoned.get(key)
        if cached is not None and cached[0] == holidays:
            return cached[1]
        zoned = policy.in_zone(zone).with_public_holidays(holidays)
        self._zoned[key] = (holidays, zoned)
        return zoned

    async def _time_zone(self, tenant: str, project: str) -> str:
        # The project directory's cached facts: one read of the project for both.
        details = await self._projects.details(tenant, project)
        # Work orders exist only for registered projects; the default keeps a stream whose
        # project row is missing (a restored backup) measurable.
        return details.time_zone if details is not None else DEFAULT_TIME_ZONE

    async def current(self, tenant: str, project: str | None = None) -> SlaPolicy:
        """The newest version governing `project` (None: the newest tenant-wide one); the
        default while there is none."""
        cached = self._cache.get((tenant, project))
        if cached is not None:
            return cached
        c = t.sla_policies.c
        query = select(c.version, c.projects).where(c.tenant == tenant)
        async with self._engine.connect() as conn:
            scopes = [(r.version, _scope(r.projects)) for r in (await conn.execute(query)).all()]
        version = governing(scopes, project)
        found = None if version is None else await self.get(tenant, version)
        policy = found or self._default
        self._cache[(tenant, project)] = policy
        return policy

    async def publish(
        self, tenant: str, policy: SlaPolicy, actor: str, projects: PolicyScope = None
    ) -> SlaPolicy:
        """Store `policy` as the tenant's next version for `projects` (None: tenant-wide)
        and return it with that version.

        The version `policy` carries is ignored. Two publishers racing for one version
        collide on the primary key; the loser tries once more with the next number.
        """
        for attempt in range(2):
            try:
                stored = await self._insert_next(tenant, policy, actor, projects)
            except IntegrityError:
                if attempt == 1:
                    raise Conflict(
                        "another policy version was being published at the same time; retry",
                        code="policy_version_conflict",
                    ) from None
                continue
            # This process sees the new version at once, wherever it governs.
            for cached in [key for key in self._cache if key[0] == tenant]:
                self._cache.pop(cached, None)
            return stored
        raise AssertionError("unreachable")  # pragma: no cover

    async def _insert_next(
        self, tenant: str, policy: SlaPolicy, actor: str, projects: PolicyScope
    ) -> SlaPolicy:
        async with self._engine.begin() as conn:
            version = await _next_version(conn, tenant)
            stored = policy.model_copy(update={"version": version})
            await conn.execute(
                insert(t.sla_policies).values(
                    tenant=tenant,
                    version=version,
                    policy=stored.model_dump(mode="json"),
                    created_at=self._clock(),
                    created_by=actor,
                    projects=scope_json(projects),
                )
            )
        return stored

    async def list(self, tenant: str) -> list[PolicyVersion]:
        """Every version of the tenant's policy, the default (1) first."""
        query = (
            select(
                t.sla_policies.c.version,
                t.sla_policies.c.created_at,
                t.sla_policies.c.created_by,
                t.sla_policies.c.projects,
            )
            .where(t.sla_policies.c.tenant == tenant)
            .order_by(t.sla_policies.c.version)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        stored = [
            PolicyVersion(r.version, r.created_at, r.created_by, _scope(r.projects)) for r in rows
        ]
        return [PolicyVersion(DEFAULT_VERSION, None, None), *stored]

    async def get(self, tenant: str, version: int) -> SlaPolicy | None:
        """One version of the tenant's policy, or None if it was never published."""
        if version == DEFAULT_VERSION:
            return self._default
        query = select(t.sla_policies.c.policy).where(
            t.sla_policies.c.tenant == tenant, t.sla_policies.c.version == version
        )
        async with self._engine.connect() as conn:
            stored = await conn.scalar(query)
        return None if stored is None else SlaPolicy.model_validate(stored)


async def _next_version(conn: AsyncConnection, tenant: str) -> int:
    latest = select(func.max(t.sla_policies.c.version)).where(t.sla_policies.c.tenant == tenant)
    return max(int(await conn.scalar(latest) or DEFAULT_VERSION), DEFAULT_VERSION) + 1
