"""`/v1/work-orders`: report, run commands, read state and history, list with filters."""

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from services.dispatch.adapters.event_store import SOURCE
from services.dispatch.adapters.queries import WorkOrderFilter, list_work_orders
from services.dispatch.domain.commands import WORK_ORDER_COMMANDS, Command, ReportWorkOrder
from services.dispatch.domain.workorder import NUMBER_PATTERN, Actor, Status, View, list_scope
from services.dispatch.entrypoints.deps import CommandScope, DispatchDep, ScopeDep
from services.dispatch.entrypoints.routes.disclosure import (
    UNLOGGED,
    DisclosureDep,
    command_answer,
    disclosed_orders,
)
from services.dispatch.entrypoints.routes.responses import etag
from services.dispatch.entrypoints.routes.schemas import WorkOrder, WorkOrderHistory, WorkOrderPage
from services.dispatch.service_layer.access_log import disclose_history
from services.dispatch.service_layer.work_orders import execute, load_work_order, report_work_order
from shared.envelope import Envelope
from shared.events.workorder import WorkOrderKind
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import (
    ETAG,
    IDEMPOTENT_REPLAYED,
    LOCATION,
    Responses,
    answers,
    json_response,
)
from shared.inputs import Instant, Key, Line
from shared.logging import bind_context

# No `from __future__ import annotations` here: the command endpoints below are built
# in a loop and FastAPI must see each one's real body type.

router = APIRouter(prefix="/v1/work-orders", tags=["work orders"])

_CONFLICTS = {
    "accept-offer": (
        "Refused, nothing written: `offer_taken` (someone else's acceptance won the grab), "
        "`no_open_offer` (you hold no open offer of this work), or `over_load_limit` "
        "(accepting would take you over your load limit: your own `max_open_orders`, else "
        "the dispatch rule's `load_limit`; the problem names the `limit` and your "
        "`open_work_orders`). Urgent orders are exempt from the load limit. After "
        "`over_load_limit` your offer stays open until it expires; decline it to pass the "
        "work on at once."
    ),
}
"""Commands whose 409 refusals need more words than the generic conflict."""


def _documented(
    status: int,
    description: str,
    conflict: str | None = None,
    *,
    location: bool = False,
) -> Responses:
    headers = {"ETag": ETAG, "Idempotent-Replayed": IDEMPOTENT_REPLAYED}
    if location:
        headers["Location"] = LOCATION
    responses: Responses = {
        **answers(WorkOrder, description, status, headers=headers),
        **PROBLEM_RESPONSES,
        **UNLOGGED,
    }
    if conflict is not None:
        responses[409] = {**PROBLEM_RESPONSES[409], "description": conflict}
    return responses


@router.post(
    "",
    status_code=201,
    response_class=Response,
    responses=_documented(
        201, "The new work order; `Location` names it, `ETag` is its version.", location=True
    ),
    summary="Report a work order (报修/投诉/建议/保洁)",
)
async def report(command: ReportWorkOrder, scope: ScopeDep) -> Response:
    """Open a work order; the caller (or `owner`) becomes its owner (首按责任制).

    The answer carries the order's `number` as people read it (`SG-20261201-0042`: the
    project's code, the local day, the day's sequence in the project), unique per project;
    the same number is answered when the request is retried with its `Idempotency-Key`."""
    dispatch = scope.dispatch
    outcome = await report_work_order(
        dispatch.store,
        dispatch.projects,
        dispatch.sla_policies,
        command,
        scope.context,
        staff=dispatch.staff,
        privacy=dispatch.privacy,
    )
    return await command_answer(scope, outcome, location=f"/v1/work-orders/{outcome.body['id']}")


def _command_endpoint(command_type: type[Command]) -> Any:
    async def run(work_order_id: str, command: Command, scope: CommandScope) -> Response:
        with bind_context(work_order_id=work_order_id, command=command_type.name):
            dispatch = scope.dispatch
            outcome = await execute(
                dispatch.store,
                dispatch.sla_policies,
                work_order_id,
                command,
                scope.context,
                staff=dispatch.staff,
            )
        return await command_answer(scope, outcome)

    endpoint: Callable[..., Awaitable[Response]]
    if command_type.model_fields:

        async def with_body(
            work_order_id: Key,
            command: command_type,  # type: ignore[valid-type]
            scope: ScopeDep,
        ) -> Response:
            return await run(work_order_id, command, scope)

        endpoint = with_body
    else:

        async def without_body(
            work_order_id: Key,
            scope: ScopeDep,
            command: Annotated[command_type | None, Body()] = None,  # type: ignore[valid-type]
        ) -> Response:
            return await run(work_order_id, command or command_type(), scope)

        endpoint = without_body
    endpoint.__doc__ = command_type.__doc__
    endpoint.__name__ = command_type.name.replace("-", "_")
    return endpoint


for _name, _type in WORK_ORDER_COMMANDS.items():
    router.add_api_route(
        f"/{{work_order_id}}/{_name}",
        _command_endpoint(_type),
        methods=["POST"],
        response_class=Response,
        responses=_documented(
            200,
            "The work order after the command; `ETag` is its new version.",
            _CONFLICTS.get(_name),
        ),
        summary=(_type.__doc__ or _name).strip().splitlines()[0],
    )


@router.get(
    "/{work_order_id}",
    response_class=Response,
    responses={
        **answers(
            WorkOrder,
            "Current state (the fold of the events) and version.",
            headers={"ETag": ETAG},
        ),
        **PROBLEM_RESPONSES,
        **UNLOGGED,
    },
    summary="Read a work order",
)
async def read(work_order_id: Key, disclosure: DisclosureDep, dispatch: DispatchDep) -> Response:
    """The current state of a work order the caller may see; the reporter's name, phone and
    unit in clear only to whom their work needs them, each such view logged
    (docs/privacy.md), else masked."""
    loaded = await load_work_order(dispatch.store, work_order_id, disclosure.principal)
    body = {**loaded.representation(), "version": loaded.state.version}
    [shown] = await disclosed_orders(dispatch, disclosure, View.ORDER, [body])
    return json_response(shown, headers={"ETag": etag(loaded.state.version)})


@router.get(
    "/{work_order_id}/events",
    response_class=Response,
    responses={
        **answers(
            WorkOrderHistory, "The work order's events as CloudEvents envelopes, oldest first."
        ),
        **UNLOGGED,
    },
    summary="Read a work order's history",
)
async def history(work_order_id: Key, disclosure: DisclosureDep, dispatch: DispatchDep) -> Response:
    """Every event of the work order, in version order, as published on the bus; the
    reporter's data in them shown as `GET /v1/work-orders/{id}` shows it."""
    loaded = await load_work_order(dispatch.store, work_order_id, disclosure.principal)
    items = [Envelope.from_recorded(e, SOURCE).model_dump(mode="json") for e in loaded.events]
    order = loaded.representation()
    fields = dispatch.privacy.fields
    shown = await disclose_history(dispatch.access_log, fields, disclosure, order, items)
    return json_response({"items": shown})


@router.get(
    "",
    response_class=Response,
    responses={
        **answers(WorkOrderPage, "A page of work orders, newest report first, and `next_cursor`."),
        **UNLOGGED,
    },
    summary="List work orders",
)
async def list_(
    disclosure: DisclosureDep,
    dispatch: DispatchDep,
    project: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
    status: Status | None = None,
    kind: WorkOrderKind | None = None,
    assignee: Annotated[Line | None, Query(max_length=128)] = None,
    owner: Annotated[Line | None, Query(max_length=128)] = None,
    offered_to: Annotated[
        Line | None,
        Query(max_length=128, description="Only orders whose open offer this person holds."),
    ] = None,
    number: Annotated[
        str | None,
        Query(
            pattern=NUMBER_PATTERN,
            description="Only the order with this number (SG-20261201-0042), as read to "
            "the resident; a number is unique per project.",
        ),
    ] = None,
    reported_from: Instant | None = None,
    reported_to: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[Line | None, Query(max_length=512)] = None,
) -> Response:
    """Work orders of the caller's projects; residents see their own, technicians theirs.
    The reporters' data is masked except where the caller's role needs it for every row
    (docs/privacy.md); each order shown in clear is logged."""
    principal = disclosure.principal
    where = WorkOrderFilter(
        tenant=principal.tenant,
        projects=None if principal.all_projects else principal.projects,
        project=project,
        status=str(status) if status else None,
        kind=str(kind) if kind else None,
        assignee=assignee,
        owner=owner,
        offered_to=offered_to,
        number=number,
        reported_from=reported_from,
        reported_to=reported_to,
    )
    scope = list_scope(Actor(subject=principal.subject, role=principal.role), offered_to)
    if scope is not None:
        column, value = scope
        narrowed: dict[str, Any] = {column: value}
        where = replace(where, **narrowed)
    items, next_cursor = await list_work_orders(dispatch.engine, where, limit, cursor)
    shown = await disclosed_orders(dispatch, disclosure, View.LISTING, items)
    return json_response({"items": shown, "next_cursor": next_cursor})
