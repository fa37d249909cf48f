"""`python -m services.console`: serve the staff console with uvicorn."""

from __future__ import annotations

from services.console.settings import ConsoleSettings
from shared.http.serve import load_settings, serve


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    settings = load_settings("console", ConsoleSettings)
    problem = settings.start_problem()
    if problem is not None:
        raise SystemExit(f"console: refusing to start: {problem}")
    # Pages poll for their live parts; nothing holds a connection open for long.
    serve(settings, "services.console.entrypoints.app:create_app", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
