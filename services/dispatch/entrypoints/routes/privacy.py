"""`/v1/privacy`: the privacy officer's view of who saw which resident's personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field

from services.dispatch.domain.workorder import PERSONAL_FIELDS
from services.dispatch.entrypoints.deps import DispatchDep
from services.dispatch.service_layer.access_log import AccessQuery, read_access_log
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import Body, answers, json_response
from shared.inputs import Instant, Key, Line

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


class AccessLogEntry(Body):
    """One clear view of a resident's personal data."""

    id: int = Field(description="The entry's position in the log.")
    at: datetime
    subject: str = Field(description="Who saw it: their token's subject.")
    role: str = Field(description="Their role when they saw it.")
    resident: str | None = Field(
        description="The resident's pseudonymous reference (`rsd_...`, the work order's "
        "`reporter.resident`); for an order stored before sealing, their app login "
        "(`reporter.resident_id`), or null for a caller without one: see `work_order_id`."
    )
    work_order_id: str | None = Field(description="The work order whose data was shown.")
    fields: list[str] = Field(description=f"Which of {', '.join(PERSONAL_FIELDS)}.")
    purpose: str = Field(
        description="Why: the API call, e.g. `GET /v1/work-orders/{work_order_id}`."
    )


class AccessLogPage(Body):
    """A page of the access log, newest first."""

    items: list[AccessLogEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


@router.get(
    "/access-log",
    response_class=Response,
    responses={
        **answers(AccessLogPage, "A page of the access log, newest first, and `next_cursor`."),
        **PROBLEM_RESPONSES,
    },
    summary="Read the access log of residents' personal data",
)
async def access_log(
    principal: PrincipalDep,
    dispatch: DispatchDep,
    resident: Annotated[Key | None, Query(description="Only views of this resident.")] = None,
    subject: Annotated[Key | None, Query(description="Only views by this person.")] = None,
    from_: Annotated[
        Instant | None, Query(alias="from", description="Views at or after this time.")
    ] = None,
    to: Annotated[Instant | None, Query(description="Views before this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[Line | None, Query(max_length=32)] = None,
) -> Response:
    """Who saw which resident's name, phone or unit in clear, when and through which call,
    in the caller's tenant. Privacy officers only (`role_not_allowed`, 403, for anyone
    else); `from` not before `to` is `invalid_range` (422). Entries are kept for
    `PERSONAL_DATA_ACCESS_LOG_RETENTION_DAYS` (docs/privacy.md)."""
    query = AccessQuery(
        tenant=principal.tenant, resident=resident, subject=subject, since=from_, until=to
    )
    page, next_cursor = await read_access_log(dispatch.access_log, principal, query, limit, cursor)
    items = [
        {
            "id": e.id,
            "at": e.at,
            "subject": e.subject,
            "role": e.role,
            "resident": e.resident,
            "work_order_id": e.work_order_id,
            "fields": list(e.fields),
            "purpose": e.purpose,
        }
        for e in page
    ]
    return json_response({"items": items, "next_cursor": next_cursor})
