"""One way to build a service's FastAPI app: lifespan, problem details, metrics, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, FastAPI

from shared.auth import TokenVerifier
from shared.http import metrics
from shared.http.middleware import BodySizeLimit, RequestContext, SecurityHeaders
from shared.http.problems import PROBLEM_RESPONSES, install_problem_handlers
from shared.settings import ServiceSettings


class RunningService(Protocol):
    """What a service's bootstrap returns: at least the token verifier of its API."""

    @property
    def verifier(self) -> TokenVerifier:
        """Verifies the bearer tokens of requests."""
        ...


S = TypeVar("S", bound=RunningService)

OPERATIONS_TAG = {"name": "operations", "description": "Health and readiness."}


def service_app(
    settings: ServiceSettings,
    *,
    description: str,
    start: Callable[[], Awaitable[S]],
    stop: Callable[[S], Awaitable[None]],
    state_name: str,
    routers: Sequence[APIRouter],
    tags: Sequence[dict[str, Any]],
) -> FastAPI:
    """The app of one service: `start` runs with the lifespan and is kept as `app.state.<state_name>`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = await start()
        setattr(app.state, state_name, running)
        app.state.token_verifier = running.verifier
        try:
            yield
        finally:
            await stop(running)

    app = FastAPI(
        title=settings.service_name,
        version="1.0.0",
        description=description,
        lifespan=lifespan,
        openapi_tags=[*tags, *([] if _names_operations(tags) else [OPERATIONS_TAG])],
    )
    install_problem_handlers(app)
    for router in routers:
        # Every operation documents the problem details it may answer with.
        app.include_router(router, responses=PROBLEM_RESPONSES)
    app.include_router(metrics.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext, service=settings.service_name)
    return app


def _names_operations(tags: Sequence[dict[str, Any]]) -> bool:
    return any(tag.get("name") == OPERATIONS_TAG["name"] for tag in tags)
