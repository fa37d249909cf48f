"""One way to build a service's FastAPI app: lifespan, problem details, metrics, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute

from shared.auth import TokenVerifier
from shared.http import metrics
from shared.http.middleware import BodySizeLimit, RequestContext, SecurityHeaders
from shared.http.problems import (
    PROBLEM_JSON,
    PROBLEM_RESPONSES,
    PROBLEM_SCHEMA_REF,
    Problem,
    install_problem_handlers,
)
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
    app.openapi = _completed_document(app, routers)  # type: ignore[method-assign]
    for router in routers:
        # Every operation documents the problem details it may answer with (those it
        # cannot are left out of the document: `_possible_errors`).
        app.include_router(router, responses=PROBLEM_RESPONSES)
    app.include_router(metrics.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext, service=settings.service_name)
    return app


def _names_operations(tags: Sequence[dict[str, Any]]) -> bool:
    return any(tag.get("name") == OPERATIONS_TAG["name"] for tag in tags)


def _completed_document(app: FastAPI, routers: Sequence[APIRouter]) -> Callable[[], dict[str, Any]]:
    """`app.openapi` with the `Problem` schema every error response refers to, only the
    errors each operation can answer with, and the response examples as declared."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas[PROBLEM_SCHEMA_REF.rsplit("/", 1)[1]] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            _restore_examples(routers, document)
            for operations in document["paths"].values():
                for method, operation in operations.items():
                    _possible_errors(method, operation)
        return app.openapi_schema or generate()

    return openapi


def _possible_errors(method: str, operation: dict[str, Any]) -> None:
    """Leave out the errors an operation cannot answer with, judged by what it takes."""
    parameters = {p["name"].lower() for p in operation.get("parameters", ())}
    has_body = "requestBody" in operation
    impossible = set()
    if not has_body:
        impossible |= {"400", "413"}  # Malformed JSON, a body too large.
    if "if-match" not in parameters:
        impossible.add("412")
    if method == "get":
        impossible.add("409")  # Conflicts are refused writes.
    if not parameters and not has_body:
        impossible.add("422")  # No input to refuse.
    if "security" not in operation:
        # A probe: no token to refuse, nothing to look up.
        impossible |= {"401", "403", "404", "409", "422", "503"} - set(_own_answers(operation))
    responses = operation["responses"]
    for status in impossible & set(responses):
        if PROBLEM_JSON in responses[status].get("content", {}):
            del responses[status]


def _own_answers(operation: dict[str, Any]) -> list[str]:
    # Statuses answered with something else than problem details (`/readyz`'s 503).
    return [
        status
        for status, response in operation["responses"].items()
        if PROBLEM_JSON not in response.get("content", {})
    ]


def _restore_examples(routers: Sequence[APIRouter], document: dict[str, Any]) -> None:
    # FastAPI encodes the document with `exclude_none`, which strips the nulls out of
    # response examples; an example must show every field its schema requires.
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for status, declared in route.responses.items():
            for media_type, content in declared.get("content", {}).items():
                if "example" not in content:
                    continue
                for method in route.methods or ():
                    shown = document["paths"][route.path_format][method.lower()]
                    shown["responses"][str(status)]["content"][media_type]["example"] = (
                        jsonable_encoder(content["example"])
                    )
