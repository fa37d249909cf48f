"""`python -m services.reporting`: serve the KPI API, dashboard and projector with uvicorn."""

from __future__ import annotations

import uvicorn
from pydantic import ValidationError

from services.reporting.settings import ReportingSettings
from shared.logging import configure_logging


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    try:
        settings = ReportingSettings()
    except ValidationError as exc:
        raise SystemExit(f"reporting: invalid settings: {exc}") from None
    configure_logging(settings.service_name, settings.log_level, settings.resolved_log_format())
    # One process: the projector is a single durable consumer, and the SSE connections
    # share its NATS connection.
    uvicorn.run(
        "services.reporting.entrypoints.app:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # Server-sent event streams never end by themselves: on shutdown they get this
        # long to notice (the stream loop checks every half second), then are cancelled.
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
