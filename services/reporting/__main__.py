"""`python -m services.reporting`: serve the KPI API, its stream and the projector with uvicorn."""

from __future__ import annotations

from services.reporting.settings import ReportingSettings
from shared.http.serve import load_settings, serve


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    settings = load_settings("reporting", ReportingSettings)
    # One process: the projector is a single durable consumer, and the SSE connections
    # share its NATS connection. Server-sent event streams never end by themselves: on
    # shutdown they get this long to notice (the stream loop checks every half second),
    # then are cancelled.
    serve(
        settings,
        "services.reporting.entrypoints.app:create_app",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
