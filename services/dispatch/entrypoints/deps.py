"""Typed FastAPI dependencies of dispatch's routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from services.dispatch.entrypoints.bootstrap import Dispatch
from services.dispatch.service_layer.context import CommandContext
from shared.errors import InvalidInput
from shared.http.auth import BearerCredentials, current_principal
from shared.inputs import parse_int64


async def _dispatch(request: Request) -> Dispatch:
    dispatch: Dispatch = request.app.state.dispatch
    return dispatch


DispatchDep = Annotated[Dispatch, Depends(_dispatch)]


def parse_if_match(value: str | None) -> int | None:
    """The expected version from `If-Match: "3"` (or a bare 3, or W/"3")."""
    if value is None:
        return None
    version = parse_int64(value.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise InvalidInput(
            f'If-Match must be a version such as "3", got {value[:40]!r}', code="invalid_if_match"
        )
    return version


@dataclass(frozen=True, slots=True)
class CommandScope:
    """The running service and the context of one command request."""

    dispatch: Dispatch
    context: CommandContext
    purpose: str
    """The API call (method and route template), for the access log of personal data."""


async def command_scope(
    request: Request,
    credentials: BearerCredentials,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description=(
                "Repeat a command safely: your same key returns your first result and "
                "appends nothing, for 30 days (the operator's `IDEMPOTENCY_KEY_DAYS`); "
                "after that it is a new command. Keys are yours alone (tenant and token "
                "subject): another caller's same key is their own command. A replay is "
                "authorized first: 404 if you may no longer see the work order; 422 "
                "`idempotency_key_reused` for the same key with another body or target."
            ),
        ),
    ] = None,
    if_match: Annotated[
        str | None, Header(description='Expected work-order version, e.g. "3"; 412 if it moved on.')
    ] = None,
) -> CommandScope:
    """Everything a handler needs to know about the caller and the request.

    One dependency instead of several: FastAPI's dependency solving is a large share
    of a command's CPU time.
    """
    dispatch: Dispatch = request.app.state.dispatch
    context = CommandContext(
        principal=await current_principal(request, credentials),
        now=dispatch.clock.now(),
        correlation_id=request.scope.get("state", {}).get("correlation_id", ""),
        idempotency_key=idempotency_key,
        expected_version=parse_if_match(if_match),
    )
    return CommandScope(dispatch, context, purpose_of(request))


def purpose_of(request: Request) -> str:
    """Why personal data is read: the API call as its method and route template."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


ScopeDep = Annotated[CommandScope, Depends(command_scope)]
