"""Loaded public-holiday schedules in the `public_holidays` table, cached per tenant.

A row is one year's schedule for one scope: a tenant's id, or `OPERATOR_SCOPE` for the
schedule the operator loaded for every tenant. The SLA engine reads a tenant's schedules
(its own and the operator's) through `for_tenant`, cached like the policies: a load or a
withdrawal refreshes the process that made it at once, other dispatch processes (and a
load from the CLI, which writes the table directly) within `CACHE_TTL_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.sla_policies import CACHE_TTL_SECONDS
from services.dispatch.domain.sla import (
    PackageReader,
    PublicHolidays,
    PublicHolidaySchedule,
    ScheduleDocument,
    china_public_calendar,
)
from shared.errors import Conflict

OPERATOR_SCOPE = "*"
"""The scope of the operator's schedules, which every tenant follows unless it loaded its
own (a tenant id is a slug, so it is never "*")."""


@dataclass(frozen=True, slots=True)
class LoadedSchedule:
    """A stored schedule: for whom (`scope`), who loaded it and when."""

    scope: str
    schedule: PublicHolidaySchedule
    loaded_by: str
    loaded_at: datetime


def _loaded(row: Any) -> LoadedSchedule:
    schedule = ScheduleDocument.model_validate(row.schedule).to_schedule()
    return LoadedSchedule(row.scope, schedule, row.loaded_by, row.loaded_at)


class SqlPublicHolidays:
    """The loaded schedules, and each tenant's `PublicHolidays` for its calendars.

    `package` is the `holidays` package's reader; tests give a stand-in to pin which years
    the package has announced, whatever release is installed.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime],
        ttl_seconds: float = CACHE_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        package: PackageReader = china_public_calendar,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self.package = package
        self._cache: dict[str, tuple[PublicHolidays, float]] = {}

    async def for_tenant(self, tenant: str) -> PublicHolidays:
        """The schedules `tenant`'s calendars follow: its own, the operator's, the package's
        (`OPERATOR_SCOPE`: a tenant that loaded none of its own)."""
        cached = self._cache.get(tenant)
        if cached is not None and self._monotonic() - cached[1] < self._ttl:
            return cached[0]
        found = self.followed(tenant, await self.loaded(tenant))
        if cached is not None and cached[0] == found:
            found = cached[0]  # the same value: keep the one whose years are worked out
        self._cache[tenant] = (found, self._monotonic())
        return found

    def followed(self, tenant: str, rows: list[LoadedSchedule]) -> PublicHolidays:
        """The schedules `tenant` follows given the `loaded` rows of it and of the operator
        (`OPERATOR_SCOPE`: a tenant that loaded none of its own)."""
        own = [] if tenant == OPERATOR_SCOPE else [r for r in rows if r.scope == tenant]
        return PublicHolidays(
            tenant={r.schedule.year: r.schedule for r in own},
            operator={r.schedule.year: r.schedule for r in rows if r.scope == OPERATOR_SCOPE},
            package=self.package,
        )

    async def loaded(self, tenant: str, year: int | None = None) -> list[LoadedSchedule]:
        """The schedules loaded for `tenant` and for every tenant (of `year`), by year."""
        c = t.public_holidays.c
        query = select(c.scope, c.year, c.schedule, c.loaded_by, c.loaded_at).where(
            c.scope.in_((tenant, OPERATOR_SCOPE))
        )
        if year is not None:
            query = query.where(c.year == year)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(c.year, c.scope))).all()
        return [_loaded(row) for row in rows]

    async def load(
        self, scope: str, schedule: PublicHolidaySchedule, actor: str
    ) -> tuple[LoadedSchedule, bool]:
        """Store `schedule` for `scope` (a tenant, or `OPERATOR_SCOPE`); return it and
        whether it is new for that year.

        Loading the same schedule again changes nothing (who loaded it and when stay the
        first load's); a different one replaces it. Two loaders racing for a year that had
        none collide on the primary key; the loser's load then replaces the winner's.
        """
        for attempt in range(2):
            try:
                stored = await self._upsert(scope, schedule, actor)
            except IntegrityError:
                if attempt == 1:
                    raise Conflict(
                        f"another schedule for {schedule.year} was being loaded; retry",
                        code="public_holidays_conflict",
                    ) from None
                continue
            self._forget(scope)
            return stored
        raise AssertionError("unreachable")  # pragma: no cover

    async def _upsert(
        self, scope: str, schedule: PublicHolidaySchedule, actor: str
    ) -> tuple[LoadedSchedule, bool]:
        c = t.public_holidays.c
        document = ScheduleDocument.of(schedule).model_dump(mode="json")
        key = (c.scope == scope) & (c.year == schedule.year)
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(select(c.scope, c.schedule, c.loaded_by, c.loaded_at).where(key))
            ).first()
            if row is not None and row.schedule == document:
                return LoadedSchedule(scope, schedule, row.loaded_by, row.loaded_at), False
            loaded_at = self._clock()
            values = {"schedule": document, "loaded_by": actor, "loaded_at": loaded_at}
            if row is None:
                await conn.execute(
                    insert(t.public_holidays).values(scope=scope, year=schedule.year, **values)
                )
            else:
                await conn.execute(update(t.public_holidays).where(key).values(**values))
        return LoadedSchedule(scope, schedule, actor, loaded_at), row is None

    async def withdraw(self, scope: str, year: int) -> bool:
        """Remove `scope`'s schedule of `year`; False if there was none."""
        c = t.public_holidays.c
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(t.public_holidays).where(c.scope == scope, c.year == year)
            )
        self._forget(scope)
        return bool(result.rowcount)

    def _forget(self, scope: str) -> None:
        # The operator's schedules are every tenant's: forget them all.
        if scope == OPERATOR_SCOPE:
            self._cache.clear()
        else:
            self._cache.pop(scope, None)
