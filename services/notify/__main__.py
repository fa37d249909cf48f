"""`python -m services.notify`: serve notify's API, consumer and delivery worker."""

from __future__ import annotations

import uvicorn
from pydantic import ValidationError

from services.notify.settings import NotifySettings
from shared.logging import configure_logging


def main() -> None:
    """Read settings from the environment and serve until SIGINT/SIGTERM."""
    try:
        settings = NotifySettings()
    except ValidationError as exc:
        raise SystemExit(f"notify: invalid settings: {exc}") from None
    configure_logging(settings.service_name, settings.log_level, settings.resolved_log_format())
    uvicorn.run(
        "services.notify.entrypoints.app:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
