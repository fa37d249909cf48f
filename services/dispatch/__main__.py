"""`python -m services.dispatch`: serve the dispatch API (and its relay) with uvicorn."""

from __future__ import annotations

import uvicorn

from services.dispatch.entrypoints.app import create_app
from services.dispatch.settings import DispatchSettings
from shared.logging import configure_logging


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    settings = DispatchSettings()
    configure_logging(settings.service_name, settings.log_level, settings.resolved_log_format())
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
