"""`python -m services.<name>`: read a service's settings and serve its app with uvicorn."""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

import uvicorn
from pydantic import ValidationError

from shared import heap
from shared.http.protocol import BoundedHeadProtocol
from shared.logging import configure_logging
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def load_settings(service: str, settings_type: type[S]) -> S:
    """The service's settings from the environment; a clear exit on a bad value or secret."""
    try:
        settings = settings_type()
    except ValidationError as exc:
        raise SystemExit(f"{service}: invalid settings: {exc}") from None
    problem = settings.secret_problem()
    if problem is not None:
        raise SystemExit(f"{service}: refusing to start: {problem}")
    configure_logging(settings.service_name, settings.log_level, settings.resolved_log_format())
    return settings


def serve(settings: ServiceSettings, app_factory: str, **options: Any) -> None:
    """Serve `app_factory` (`module:function`) until SIGINT/SIGTERM.

    Logging is structlog's (no uvicorn log config, no access log: the request middleware
    logs each request); `options` go to uvicorn as they are. Request heads are capped
    (`shared.http.protocol`). The garbage collector is settled (`shared.heap`) once the
    service's modules are loaded.
    """
    # The service's code is loaded before serving, so the collector can set it aside.
    importlib.import_module(app_factory.partition(":")[0])
    heap.settle()
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        http=BoundedHeadProtocol,
        **options,
    )
