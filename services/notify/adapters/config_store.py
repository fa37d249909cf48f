"""notify's configuration in its database: one row per tenant, `*` for the defaults.

The defaults' row also holds the per-channel retry policies (they are not a tenant's).
Contacts' endpoints (URLs with credentials, signing secrets) are stored sealed (`sealed`).
Each row carries a version; a save names the version it read and fails if another
writer got there first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify.adapters import tables as t
from services.notify.adapters.sealed import Sealer
from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.service_layer.configuration import DEFAULTS, StoredConfig
from shared.errors import ConcurrencyConflict


class SqlConfigStore:
    """`ConfigStore` on notify's database."""

    def __init__(self, engine: AsyncEngine, now: Callable[[], Any], sealer: Sealer) -> None:
        self._engine = engine
        self._now = now
        self._sealer = sealer

    async def load(self) -> StoredConfig:
        """Every row, as one configuration."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(t.tenant_configs))).all()
        tenants: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
        versions: dict[str, int] = {}
        for row in rows:
            versions[row.tenant] = row.version
            if row.tenant == DEFAULTS:
                defaults = dict(row.document)
                defaults["default"] = self._sealer.unseal_tenant(defaults.get("default", {}))
            else:
                tenants[row.tenant] = self._sealer.unseal_tenant(row.document)
        config = NotifyConfig.model_validate(
            {
                "tenants": tenants,
                "default": defaults.get("default", {}),
                "retry": defaults.get("retry", {}),
            }
        )
        return StoredConfig(config, versions)

    async def versions(self) -> dict[str, int]:
        """Each row's version."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(t.tenant_configs.c.tenant, t.tenant_configs.c.version))
            return {tenant: version for tenant, version in rows}

    async def save_tenant(
        self, tenant: str, config: TenantConfig, expected_version: int | None, by: str
    ) -> int:
        """Store `tenant`'s configuration over `expected_version`; its new version."""
        document = self._sealer.seal_tenant(config.model_dump(mode="json"))
        return await self._save(tenant, document, expected_version, by)

    async def import_config(self, config: NotifyConfig, replace: bool, by: str) -> list[str]:
        """Store a whole configuration's tenants and defaults; the rows written."""
        documents = {
            tenant: self._sealer.seal_tenant(tenant_config.model_dump(mode="json"))
            for tenant, tenant_config in config.tenants.items()
        }
        documents[DEFAULTS] = {
            "default": self._sealer.seal_tenant(config.default.model_dump(mode="json")),
            "retry": {str(k): v.model_dump(mode="json") for k, v in config.retry.items()},
        }
        stored = await self.versions()
        written = []
        for row, document in sorted(documents.items()):
            if row in stored and not replace:
                continue
            await self._save(row, document, stored.get(row), by)
            written.append(row)
        return written

    async def _save(
        self, row: str, document: dict[str, Any], expected_version: int | None, by: str
    ) -> int:
        c = t.tenant_configs.c
        now = self._now()
        if expected_version is None:
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(
                        insert(t.tenant_configs).values(
                            tenant=row, document=document, version=1, updated_by=by, updated_at=now
                        )
                    )
            except IntegrityError:
                raise ConcurrencyConflict(
                    f"the configuration of {row} was created meanwhile; read it again",
                    code="configuration_changed",
                ) from None
            return 1
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                update(t.tenant_configs)
                .where(c.tenant == row, c.version == expected_version)
                .values(
                    document=document,
                    version=expected_version + 1,
                    updated_by=by,
                    updated_at=now,
                )
            )
            if changed.rowcount != 1:
                raise ConcurrencyConflict(
                    f"the configuration of {row} changed meanwhile; read it again",
                    code="configuration_changed",
                )
            return expected_version + 1
