"""`python -m services.notify`: serve notify's API, consumer and delivery worker."""

from __future__ import annotations

from services.notify.settings import NotifySettings
from shared.http.serve import load_settings, serve


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    settings = load_settings("notify", NotifySettings)
    serve(settings, "services.notify.entrypoints.app:create_app")


if __name__ == "__main__":
    main()
