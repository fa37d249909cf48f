"""`wo sla holidays`: load a year's public-holiday schedule (调休) and show the one followed.

The operator writes dispatch's database directly, as `wo sla explain` reads it: a schedule
for every tenant (`--all-tenants`) or for one (`--tenant`). Running dispatch processes
follow it within 30 seconds (their cache of the schedules, docs/sla.md).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from services.dispatch.adapters.migrate import upgrade
from services.dispatch.adapters.public_holidays import OPERATOR_SCOPE, SqlPublicHolidays
from services.dispatch.domain.sla import (
    MAX_YEAR,
    MIN_YEAR,
    HolidayYear,
    PublicHolidaySchedule,
    ScheduleDocument,
)
from services.dispatch.entrypoints.cli_options import DatabaseOption
from services.dispatch.settings import DispatchSettings
from shared.cli import CliFailure, cause, engine_for
from shared.clock import SystemClock
from shared.errors import InvalidInput
from shared.subjects import SLUG_PATTERN

T = TypeVar("T")

holidays_app = typer.Typer(
    help="Public-holiday schedules (调休) the SLA calendars follow: load a year's, show one.",
    no_args_is_help=True,
)

YearOption = Annotated[
    int, typer.Option("--year", min=MIN_YEAR, max=MAX_YEAR, help="The year, e.g. 2027.")
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="One tenant (its own schedule of the year).")
]


@holidays_app.command("load")
def load_command(
    year: YearOption,
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            help='The schedule as JSON: {"year", "days_off", "make_up_days", "source"} (docs/sla.md).',
        ),
    ],
    tenant: TenantOption = None,
    all_tenants: Annotated[
        bool, typer.Option("--all-tenants", help="For every tenant (the operator's schedule).")
    ] = False,
    loaded_by: Annotated[str, typer.Option(help="Who loads it, as recorded.")] = "operator",
    database_url: DatabaseOption = None,
) -> None:
    """Load (or replace) the schedule of `--year` for one tenant or for every tenant."""
    scope = _scope(tenant, all_tenants)
    schedule = _read(file, year)
    url = database_url or DispatchSettings().database_url

    async def load(schedules: SqlPublicHolidays) -> bool:
        _, created = await schedules.load(scope, schedule, loaded_by)
        return created

    created = _run(url, load)
    whom = "every tenant" if scope == OPERATOR_SCOPE else f"tenant {scope}"
    made = "Loaded" if created else "Replaced (or unchanged)"
    Console().print(
        f"{made} the {year} schedule for {whom}: {len(schedule.days_off)} days off, "
        f"{len(schedule.make_up_days)} make-up working days"
        + (f" ({schedule.source})" if schedule.source else "")
        + ". Running dispatch processes follow it within 30 s; running clocks keep their "
        "due times.",
        highlight=False,
        soft_wrap=True,
    )


@holidays_app.command("show")
def show_command(
    year: YearOption, tenant: TenantOption = None, database_url: DatabaseOption = None
) -> None:
    """The schedule followed in `--year` by `--tenant` (left out: by a tenant with none of
    its own), and where it comes from: tenant, operator, package or unknown."""
    scope = _scope(tenant, all_tenants=tenant is None)
    url = database_url or DispatchSettings().database_url

    async def show(schedules: SqlPublicHolidays) -> HolidayYear:
        return (await schedules.for_tenant(scope)).year(year)

    found = _run(url, show)
    console = Console()
    known = "" if found.known else " — not announced: the package's estimate, no make-up days"
    console.print(f"{year}: {found.origin.value}{known}", highlight=False, soft_wrap=True)
    if found.source:
        console.print(f"source: {found.source}", highlight=False, soft_wrap=True)
    console.print("days off: " + _days(found.days_off), highlight=False, soft_wrap=True)
    console.print(
        "make-up working days: " + (_days(found.make_up_days) or "none"),
        highlight=False,
        soft_wrap=True,
    )


def _days(days: frozenset[date]) -> str:
    return ", ".join(day.isoformat() for day in sorted(days))


def _scope(tenant: str | None, all_tenants: bool) -> str:
    if (tenant is None) == (not all_tenants):
        _fail("give either --tenant T or --all-tenants")
    if tenant is None:
        return OPERATOR_SCOPE
    if not re.fullmatch(SLUG_PATTERN.strip("^$"), tenant):
        _fail(f"--tenant {tenant!r} is not a tenant id (lower-case letters, digits, - and _)")
    return tenant


def _read(file: Path, year: int) -> PublicHolidaySchedule:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail(f"{file} is not JSON: {exc}")
    try:
        document = ScheduleDocument.model_validate(data)
        if document.year != year:
            raise InvalidInput(
                f"the file is a schedule for {document.year}, --year says {year}",
                code="year_mismatch",
            )
        return document.to_schedule()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()[:5]
        )
        _fail(f"{file} is not a schedule: {problems}")
    except InvalidInput as exc:
        _fail(f"{file} is refused ({exc.code}): {exc.message}")


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _run(url: str, work: Callable[[SqlPublicHolidays], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_with_schedules(url, work))
    except CliFailure as exc:
        _fail(str(exc))


async def _with_schedules(url: str, work: Callable[[SqlPublicHolidays], Awaitable[T]]) -> T:
    engine = engine_for(url)
    try:
        await upgrade(engine)
        return await work(SqlPublicHolidays(engine, clock=SystemClock().now))
    except (SQLAlchemyError, OSError) as exc:
        raise CliFailure(f"database error: {cause(exc)}") from None
    finally:
        await engine.dispose()
