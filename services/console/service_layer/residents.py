"""Who called from this number before: dispatch's resident search, with the user's token."""

from __future__ import annotations

from services.console.domain.session import SignedIn
from services.console.service_layer.ports import DispatchPort, Json


async def residents_by_phone(dispatch: DispatchPort, user: SignedIn, phone: str) -> list[Json]:
    """The residents dispatch finds for `phone` in the user's projects, most recent first.

    dispatch decides who may search (customer service, supervisors) and what a phone
    number is; its refusals come back as `UpstreamError`.
    """
    body = await dispatch.get(user.token, "/v1/residents", {"phone": phone})
    return list(body.get("items", []))
