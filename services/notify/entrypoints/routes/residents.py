"""`/v1/residents/{resident}/deliveries`: what notify sent a resident (portability)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path

from services.notify.adapters import queries
from services.notify.entrypoints.deps import NotifyDep
from shared.auth import Role
from shared.errors import Forbidden
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import Body, answers

router = APIRouter(tags=["deliveries"], responses=PROBLEM_RESPONSES)


class ResidentMessage(Body):
    """One message sent to the resident."""

    id: str
    project: str
    work_order_id: str | None
    event_type: str
    channel: str
    address: str
    language: str
    subject: str
    body_text: str
    sent_at: datetime | None


class ResidentMessages(Body):
    """Every message sent to the resident, oldest first."""

    resident: str
    items: list[ResidentMessage]


@router.get(
    "/v1/residents/{resident}/deliveries",
    summary="Messages sent to a resident (privacy officers)",
    response_model=None,
    responses=answers(ResidentMessages, "The messages sent to the resident, oldest first."),
)
async def resident_deliveries(
    notify: NotifyDep,
    principal: PrincipalDep,
    resident: Annotated[str, Path(pattern=r"^rsd_[a-z2-7]{24}$")],
) -> dict[str, Any]:
    """What notify sent the resident (by their reference) in the caller's tenant, for a
    portability request: each message's text, channel, masked address and time.
    Privacy officers only (`role_not_allowed`, 403, for anyone else)."""
    if principal.role is not Role.PRIVACY_OFFICER:
        raise Forbidden(
            f"a {principal.role.value} may not read what residents were sent",
            code="role_not_allowed",
            role=principal.role.value,
        )
    items = await queries.resident_messages(notify.engine, principal.tenant, resident)
    return {"resident": resident, "items": items}
