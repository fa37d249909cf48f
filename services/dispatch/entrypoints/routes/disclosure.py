"""Answers carrying residents' personal data: masked or logged before they are sent."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from services.dispatch.domain.workorder import View
from services.dispatch.entrypoints.bootstrap import Dispatch
from services.dispatch.entrypoints.deps import CommandScope, purpose_of
from services.dispatch.entrypoints.routes.responses import outcome_response
from services.dispatch.service_layer.access_log import Disclosure, disclose
from services.dispatch.service_layer.context import Outcome
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import Responses

UNLOGGED: Responses = {
    503: {
        **PROBLEM_RESPONSES[503],
        "description": "`access_log_unavailable`: the answer would show a resident's data "
        "in clear and its access log cannot be written now, so it is not sent; retry after "
        "`Retry-After` seconds (docs/privacy.md). Also any other dependency down.",
    }
}
"""The documented refusal of an answer holding personal data that cannot be logged."""


async def _disclosure(request: Request, principal: PrincipalDep) -> Disclosure:
    dispatch: Dispatch = request.app.state.dispatch
    return Disclosure(principal, purpose_of(request), dispatch.clock.now())


DisclosureDep = Annotated[Disclosure, Depends(_disclosure)]


async def disclosed_orders(
    dispatch: Dispatch, disclosure: Disclosure, view: View, orders: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`orders` as the caller may see them (`service_layer.access_log.disclose`)."""
    return await disclose(dispatch.access_log, dispatch.privacy.fields, disclosure, view, orders)


async def command_answer(
    scope: CommandScope, outcome: Outcome, location: str | None = None
) -> Response:
    """A command's answer, the work order in it as its caller may see it."""
    context = scope.context
    disclosure = Disclosure(context.principal, scope.purpose, context.now)
    [body] = await disclosed_orders(scope.dispatch, disclosure, View.ORDER, [outcome.body])
    return outcome_response(replace(outcome, body=body), location)
