"""`python -m services.dispatch`: serve the dispatch API (and its relay) with uvicorn."""

from __future__ import annotations

import asyncio

import uvicorn
from pydantic import ValidationError

from services.dispatch.adapters.database import create_engine
from services.dispatch.adapters.migrate import upgrade
from services.dispatch.settings import DispatchSettings
from shared.logging import configure_logging


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    try:
        settings = DispatchSettings()
    except ValidationError as exc:
        raise SystemExit(f"dispatch: invalid settings: {exc}") from None
    configure_logging(settings.service_name, settings.log_level, settings.resolved_log_format())
    if settings.migrate_on_start and settings.http_workers > 1:
        # Migrate once here rather than racing in every worker's start-up.
        asyncio.run(_migrate(settings))
    uvicorn.run(
        "services.dispatch.entrypoints.app:create_app",
        factory=True,
        workers=settings.http_workers,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


async def _migrate(settings: DispatchSettings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
