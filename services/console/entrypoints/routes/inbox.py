"""Supervisors and project managers: the escalations and alerts addressed to them.

dispatch's escalation ladder names a role (or a person); notify resolves it to people and
delivers to their in-app inbox. This page is that inbox, read with the user's own token,
so it holds exactly what was addressed to them; each message links to its order.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from services.console.domain.roles import Page
from services.console.entrypoints.routes.auth import VisitDep
from services.console.entrypoints.web import Visit
from services.console.service_layer import boards

router = APIRouter(include_in_schema=False)

MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SHOWN = 200
"""The newest messages shown (notify lists the oldest first: the page turns it around)."""


async def _inbox(visit: Visit) -> dict[str, Any]:
    user = visit.require(Page.INBOX)
    projects, messages = await asyncio.gather(
        boards.projects(visit.console.dispatch, user),
        visit.console.notify.get_list(user.token, "/v1/inbox", {"limit": 500}),
    )
    newest = list(reversed(messages))[:SHOWN]
    unread = [m for m in newest if not m.get("read_at")]
    read = [m for m in newest if m.get("read_at")]
    return {"projects": projects, "unread": unread, "read": read}


@router.get("/inbox")
async def inbox_page(visit: VisitDep) -> Response:
    """Unread escalations and alerts first, newest first; then those already read."""
    return visit.render("inbox.html", **await _inbox(visit))


@router.get("/inbox/live")
async def inbox_live(visit: VisitDep) -> Response:
    """The messages, re-read by the page."""
    return visit.fragment("inbox_list.html", **await _inbox(visit))


@router.post("/inbox/{message_id}/read")
async def mark_read(message_id: MessageId, visit: VisitDep) -> Response:
    """Mark one message read (it moves under the ones already read)."""
    user = visit.require(Page.INBOX)
    await visit.form()
    await visit.console.notify.post(user.token, f"/v1/inbox/{message_id}/read", None)
    return visit.redirect(f"/{Page.INBOX}")
