"""`python -m services.dispatch`: serve the dispatch API (and its relay) with uvicorn."""

from __future__ import annotations

import asyncio

from services.dispatch.adapters.migrate import upgrade
from services.dispatch.settings import DispatchSettings
from shared.database import create_engine
from shared.http.serve import load_settings, serve


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    settings = load_settings("dispatch", DispatchSettings)
    if settings.migrate_on_start and settings.http_workers > 1:
        # Migrate once here rather than racing in every worker's start-up.
        asyncio.run(_migrate(settings))
    serve(
        settings,
        "services.dispatch.entrypoints.app:create_app",
        workers=settings.http_workers,
    )


async def _migrate(settings: DispatchSettings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
