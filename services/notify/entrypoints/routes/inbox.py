"""The in-app inbox of the caller (the token's subject): list, mark read, live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.notify.adapters import queries
from services.notify.entrypoints.deps import NotifyDep
from services.notify.entrypoints.schemas import Inbox, MarkedRead
from shared.errors import InvalidInput, NotFound
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES, event_stream
from shared.http.responses import answers
from shared.inputs import DIGITS, Position, RowId, parse_int64
from shared.tasks import woken

router = APIRouter(prefix="/v1/inbox", tags=["inbox"], responses=PROBLEM_RESPONSES)


@router.get(
    "",
    summary="My messages",
    response_model=None,
    responses=answers(Inbox, "The caller's messages, oldest first."),
)
async def list_inbox(
    notify: NotifyDep,
    principal: PrincipalDep,
    after: Annotated[Position, Query(description="Only messages with a larger id")] = 0,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The caller's inbox messages, oldest first."""
    return await queries.list_inbox(
        notify.engine,
        principal.tenant,
        principal.subject,
        after_id=after,
        unread_only=unread,
        limit=limit,
    )


@router.post(
    "/{message_id}/read",
    summary="Mark a message read",
    response_model=None,
    responses=answers(MarkedRead, "The message, now read."),
)
async def mark_read(
    message_id: RowId, notify: NotifyDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Mark one of the caller's messages read."""
    if not await queries.mark_read(
        notify.engine, principal.tenant, principal.subject, message_id, notify.clock.now()
    ):
        raise NotFound(f"no message {message_id} in your inbox", code="message_not_found")
    return {"id": message_id, "read": True}


@router.get(
    "/stream",
    summary="My messages as server-sent events",
    response_class=StreamingResponse,
    responses=event_stream("`message` events, each an inbox message (`InboxMessage`) as JSON."),
)
async def stream(
    request: Request,
    notify: NotifyDep,
    principal: PrincipalDep,
    after: Annotated[Position, Query()] = 0,
    last_event_id: Annotated[
        str | None, Header(pattern=DIGITS, description="The id of the last message received")
    ] = None,
) -> StreamingResponse:
    """Every new message of the caller as an SSE `message` event (id = message id).

    A message is streamed as soon as any notify process has written it. A reconnecting
    client sends `Last-Event-ID` and gets what it missed. An idle stream gets a comment
    every `INBOX_POLL_SECONDS` (14 s) so that proxies keep it open.
    """
    resumed = None if last_event_id is None else parse_int64(last_event_id)
    if last_event_id is not None and resumed is None:
        raise InvalidInput("Last-Event-ID must be a message id", code="invalid_last_event_id")
    start = after if resumed is None else resumed

    async def events() -> AsyncIterator[bytes]:
        position = start
        wake = notify.broker.subscribe(principal.tenant, principal.subject)
        try:
            yield b": inbox stream\n\n"
            while not await request.is_disconnected():
                wake.clear()
                rows = await queries.list_inbox(
                    notify.engine,
                    principal.tenant,
                    principal.subject,
                    after_id=position,
                    unread_only=False,
                    limit=100,
                )
                for row in rows:
                    position = row["id"]
                    data = orjson.dumps(row).decode()
                    yield f"id: {row['id']}\nevent: message\ndata: {data}\n\n".encode()
                if rows:
                    continue
                # Woken through the broker (this process or, over NATS, another); the
                # timeout is the safety net for a wake lost while the bus was down, and
                # the keep-alive comment that stops proxies closing an idle stream.
                if not await woken(wake, notify.settings.inbox_poll_seconds):
                    yield b": keep-alive\n\n"
        finally:
            notify.broker.unsubscribe(principal.tenant, principal.subject, wake)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )
