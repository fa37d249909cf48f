"""Dead letters: events the consumer gave up on and deliveries a channel gave up on."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.notify.adapters import queries
from services.notify.entrypoints.deps import NotifyDep, OperatorScopeDep
from services.notify.service_layer.dead_letters import retry_dead_letter
from shared.errors import NotFound
from shared.http.problems import PROBLEM_RESPONSES
from shared.inputs import RowId

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"], responses=PROBLEM_RESPONSES)


@router.get("", summary="List dead letters")
async def list_dead_letters(
    notify: NotifyDep,
    scope: OperatorScopeDep,
    kind: Literal["event", "delivery"] | None = None,
    include_retried: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Dead letters newest first, with their error; retried ones only when asked."""
    return await queries.list_dead_letters(
        notify.engine, scope, kind=kind, include_retried=include_retried, limit=limit
    )


@router.post("/{dead_letter_id}/retry", summary="Retry a dead letter")
async def retry(
    dead_letter_id: RowId, notify: NotifyDep, scope: OperatorScopeDep
) -> dict[str, str]:
    """Apply a dead event again, or send a dead delivery again from its first attempt."""
    found = await queries.dead_letter_scope(notify.engine, dead_letter_id)
    # A dead letter of no tenant is the platform operator's (`wo notify retry`).
    visible = (
        found is not None
        and found[0] == scope.tenant
        and (scope.projects is None or found[1] in scope.projects)
    )
    if not visible:
        raise NotFound(f"no dead letter {dead_letter_id}", code="dead_letter_not_found")
    outcome = await retry_dead_letter(
        notify.dead_letters, notify.handler, notify.clock, dead_letter_id
    )
    notify.wake_sender()
    return {"status": "retried", "outcome": outcome}
