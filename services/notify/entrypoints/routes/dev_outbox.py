"""`/v1/dev-outbox`: what SMS and e-mail would have sent on a local stack (development only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.notify.adapters.channels.dev_outbox import list_dev_outbox
from services.notify.entrypoints.deps import NotifyDep, OperatorScopeDep
from shared.errors import NotFound
from shared.http.problems import PROBLEM_RESPONSES
from shared.inputs import Key, Line, Position

router = APIRouter(prefix="/v1/dev-outbox", tags=["development"], responses=PROBLEM_RESPONSES)


class OutboxMessage(BaseModel):
    """One message as its channel would have sent it."""

    id: int
    delivery_id: str
    project: str
    channel: str = Field(description="`sms` or `email`")
    recipient: str = Field(description="Who it was for: `resident:<id>`, `person:<id>`, …")
    recipient_name: str
    address: str = Field(description="The phone number or e-mail address it went to")
    subject: str
    body_text: str = Field(description="The rendered text")
    event_type: str
    work_order_id: str | None
    created_at: datetime


class OutboxPage(BaseModel):
    """Messages, oldest first."""

    items: list[OutboxMessage]


@router.get(
    "",
    summary="Messages SMS and e-mail would have sent (development only)",
    response_model=OutboxPage,
)
async def dev_outbox(
    notify: NotifyDep,
    scope: OperatorScopeDep,
    work_order_id: Key | None = None,
    address: Annotated[
        Line | None, Query(max_length=320, description="A phone number or e-mail address")
    ] = None,
    after: Annotated[Position, Query(description="Only messages with a larger id")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OutboxPage:
    """With `ENVIRONMENT=development`, SMS without a provider and e-mail without an SMTP
    host deliver into the development outbox; this lists what they kept, for the caller's
    tenant and projects, by work order and by address. Staff roles that read delivery
    records. 404 in any other environment: production sends through its providers.
    """
    if notify.settings.environment != "development":
        raise NotFound("the development outbox exists in development only", code="not_found")
    rows = await list_dev_outbox(
        notify.engine,
        scope.tenant or "",
        scope.projects,
        work_order_id=work_order_id,
        address=address,
        after_id=after,
        limit=limit,
    )
    return OutboxPage(items=[OutboxMessage.model_validate(row) for row in rows])
