"""Delivery records: what notify sent (or could not) to whom."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.notify.adapters import queries
from services.notify.domain.model import ChannelName, DeliveryStatus
from services.notify.entrypoints.deps import NotifyDep, OperatorScopeDep
from services.notify.entrypoints.schemas import Deliveries, DeliveryWithMessage
from shared.errors import NotFound
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import answers
from shared.inputs import Count, Instant, Key, Line

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], responses=PROBLEM_RESPONSES)


@router.get(
    "",
    summary="List deliveries",
    response_model=None,
    responses=answers(Deliveries, "Deliveries newest first, without their HTML bodies."),
)
async def list_deliveries(
    notify: NotifyDep,
    scope: OperatorScopeDep,
    project: Key | None = None,
    work_order_id: Key | None = None,
    event_id: Key | None = None,
    recipient: Annotated[
        Line | None, Query(max_length=300, description="e.g. person:tech-wang")
    ] = None,
    channel: ChannelName | None = None,
    status: DeliveryStatus | None = None,
    template: Key | None = None,
    since: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Count = 0,
) -> list[dict[str, Any]]:
    """Deliveries of the caller's projects, newest first, by any of the filters."""
    if project is not None and scope.projects is not None and project not in scope.projects:
        return []
    return await queries.list_deliveries(
        notify.engine,
        scope,
        filters={
            "project": project,
            "work_order_id": work_order_id,
            "event_id": event_id,
            "recipient": recipient,
            "channel": str(channel) if channel else None,
            "status": str(status) if status else None,
            "template": template,
        },
        since=since,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{delivery_id}",
    summary="One delivery with its message",
    response_model=None,
    responses=answers(DeliveryWithMessage, "The delivery with its subject, text and HTML."),
)
async def get_delivery(
    delivery_id: Key, notify: NotifyDep, scope: OperatorScopeDep
) -> dict[str, Any]:
    """One delivery, with subject, plain text and HTML bodies."""
    row = await queries.get_delivery(notify.engine, scope, delivery_id)
    if row is None:
        raise NotFound(f"no delivery {delivery_id}", code="delivery_not_found")
    row.pop("dedup_key", None)
    return row
