"""`/v1/public-holidays`: the public days off and make-up working days (调休) the tenant's
SLA calendars follow, year by year, and loading the State Council's schedule of a year."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from services.dispatch.adapters.public_holidays import (
    OPERATOR_SCOPE,
    LoadedSchedule,
    SqlPublicHolidays,
)
from services.dispatch.domain.sla import (
    DEFAULT_TIME_ZONE,
    HolidayYear,
    ScheduleDocument,
    ScheduleOrigin,
    Year,
)
from services.dispatch.entrypoints.bootstrap import Dispatch
from services.dispatch.entrypoints.deps import DispatchDep
from services.dispatch.entrypoints.routes.sla_policies import POLICY_READERS, POLICY_WRITERS
from services.dispatch.service_layer.roles import require_role
from shared.auth import Principal
from shared.errors import Forbidden, InvalidInput, NotFound, Unavailable
from shared.http.auth import PrincipalDep
from shared.http.problems import PROBLEM_RESPONSES
from shared.http.responses import json_response

router = APIRouter(tags=["sla policies"])

CHINA = ZoneInfo(DEFAULT_TIME_ZONE)
"""The State Council's year: "this year" is China's."""

YearPath = Annotated[Year, Path(description="The year, e.g. 2027.")]

SCHEDULE_NOTE = (
    "For a year the tenant's calendars follow, in order: the tenant's own loaded schedule "
    "(`origin: tenant`), the operator's for every tenant (`operator`, loaded with `wo sla "
    "holidays load --all-tenants`), the `holidays` package when it has announced the year "
    "(`package`: it lists make-up working days for it), else the package's estimate "
    "(`unknown`: statutory days off, no make-up working day). A working-days clock whose "
    "due time runs into an unknown year records `workorder.sla_calendar_unconfirmed`. A "
    "schedule applies to due times computed after it is loaded (other dispatch processes "
    "within 30 seconds); running clocks keep theirs (docs/sla.md)."
)


class HolidayYearView(BaseModel):
    """The schedule the tenant's calendars follow in one year, and where it comes from."""

    year: int
    origin: ScheduleOrigin
    known: bool = Field(description="False while the year's schedule is the package's estimate.")
    days_off: list[date]
    make_up_days: list[date]
    source: str | None = None
    notes: str | None = None
    loaded_by: str | None = Field(
        default=None, description="Who loaded it (a tenant's or the operator's schedule)."
    )
    loaded_at: datetime | None = None


class HolidayYearList(BaseModel):
    """The years with a loaded schedule, and this year and next whatever their origin."""

    items: list[HolidayYearView]


def _view(year: HolidayYear, loaded: LoadedSchedule | None) -> HolidayYearView:
    return HolidayYearView(
        year=year.year,
        origin=year.origin,
        known=year.known,
        days_off=sorted(year.days_off),
        make_up_days=sorted(year.make_up_days),
        source=year.source,
        notes=year.notes,
        loaded_by=loaded.loaded_by if loaded is not None else None,
        loaded_at=loaded.loaded_at if loaded is not None else None,
    )


def _schedules(dispatch: Dispatch) -> SqlPublicHolidays:
    if dispatch.public_holidays is None:
        raise Unavailable(
            "this dispatch runs without a database of public-holiday schedules",
            code="public_holidays_fixed",
        )
    return dispatch.public_holidays


def _scope_of(year: HolidayYear, principal: Principal) -> str | None:
    """The scope of the loaded row behind `year`, if a loaded one is followed."""
    if year.origin is ScheduleOrigin.TENANT:
        return principal.tenant
    if year.origin is ScheduleOrigin.OPERATOR:
        return OPERATOR_SCOPE
    return None


async def _effective(
    schedules: SqlPublicHolidays, principal: Principal, years: list[int]
) -> list[HolidayYearView]:
    # Read afresh (not the engine's cache): the answer shows what is stored now, which
    # every dispatch process follows within 30 seconds.
    rows = await schedules.loaded(principal.tenant)
    holidays = schedules.followed(principal.tenant, rows)
    loaded = {(r.scope, r.schedule.year): r for r in rows}
    views = []
    for number in years:
        year = holidays.year(number)
        scope = _scope_of(year, principal)
        views.append(_view(year, loaded.get((scope, number)) if scope is not None else None))
    return views


def _require_loader(principal: Principal) -> None:
    require_role(principal, POLICY_WRITERS, "load public-holiday schedules")
    if not principal.all_projects:
        # The schedule is the whole tenant's: every project's calendars follow it.
        raise Forbidden(
            "a schedule governs every project of the tenant: only a token granting every "
            "project (headquarters) may load or withdraw one",
            code="all_projects_required",
            role=principal.role.value,
        )


_VIEW = {"model": HolidayYearView, "description": "The schedule the year now follows."}


@router.get(
    "/v1/public-holidays",
    response_class=Response,
    responses={
        200: {"model": HolidayYearList, "description": "Year by year."},
        **PROBLEM_RESPONSES,
    },
    summary="List the public-holiday schedules the tenant follows",
    description=SCHEDULE_NOTE,
)
async def list_years(principal: PrincipalDep, dispatch: DispatchDep) -> Response:
    """Every year with a loaded schedule (the tenant's or the operator's), and this year and
    next (in China Standard Time) whatever their origin, in order."""
    require_role(principal, POLICY_READERS, "read public-holiday schedules")
    schedules = _schedules(dispatch)
    this_year = dispatch.clock.now().astimezone(CHINA).year
    years = {r.schedule.year for r in await schedules.loaded(principal.tenant)}
    years |= {this_year, this_year + 1}
    items = await _effective(schedules, principal, sorted(years))
    return json_response(HolidayYearList(items=items).model_dump(mode="json"))


@router.get(
    "/v1/public-holidays/{year}",
    response_class=Response,
    responses={200: _VIEW, **PROBLEM_RESPONSES},
    summary="Read the public-holiday schedule of a year",
    description=SCHEDULE_NOTE,
)
async def read_year(year: YearPath, principal: PrincipalDep, dispatch: DispatchDep) -> Response:
    """The days off and make-up working days the tenant's calendars follow in `year`."""
    require_role(principal, POLICY_READERS, "read public-holiday schedules")
    [view] = await _effective(_schedules(dispatch), principal, [year])
    return json_response(view.model_dump(mode="json"))


@router.put(
    "/v1/public-holidays/{year}",
    response_class=Response,
    responses={
        200: {"model": HolidayYearView, "description": "Replaced, or the same schedule again."},
        201: {"model": HolidayYearView, "description": "The tenant's first schedule of the year."},
        **PROBLEM_RESPONSES,
    },
    summary="Load the tenant's public-holiday schedule of a year",
    description=(
        "Load the State Council's published schedule of `year` for the tenant (project "
        "manager or headquarters quality, with a token granting every project). The body is "
        "the file `wo sla holidays load` reads: `year` (the path's), `days_off`, "
        "`make_up_days`, `source`, `notes`. Refused with 422 and a code: "
        "`holiday_outside_year`, `no_days_off`, `day_off_and_make_up_day`, "
        "`make_up_day_not_weekend`, `year_mismatch`. Loading the same schedule again "
        "changes nothing.\n\n" + SCHEDULE_NOTE
    ),
)
async def load_year(
    year: YearPath, document: ScheduleDocument, principal: PrincipalDep, dispatch: DispatchDep
) -> Response:
    """Load (or replace) the tenant's own schedule of `year`."""
    _require_loader(principal)
    if document.year != year:
        raise InvalidInput(
            f"the body is a schedule for {document.year}, the path names {year}",
            code="year_mismatch",
        )
    schedule = document.to_schedule()
    schedules = _schedules(dispatch)
    _, created = await schedules.load(principal.tenant, schedule, principal.subject)
    [view] = await _effective(schedules, principal, [year])
    return json_response(view.model_dump(mode="json"), 201 if created else 200)


@router.delete(
    "/v1/public-holidays/{year}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Withdrawn."}, **PROBLEM_RESPONSES},
    summary="Withdraw the tenant's own public-holiday schedule of a year",
    description=(
        "The tenant's calendars then follow the operator's schedule of the year, else the "
        "package's. 404 `public_holidays_not_loaded` when the tenant loaded none."
    ),
)
async def withdraw_year(year: YearPath, principal: PrincipalDep, dispatch: DispatchDep) -> Response:
    """Withdraw the tenant's own schedule of `year`."""
    _require_loader(principal)
    if not await _schedules(dispatch).withdraw(principal.tenant, year):
        raise NotFound(
            f"the tenant loaded no schedule for {year}", code="public_holidays_not_loaded"
        )
    return Response(status_code=204)
