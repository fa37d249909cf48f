"""Operator commands of the SLA clocks (mounted as `wo sla`): explain a work order's clocks;
load and show public-holiday schedules (`wo sla holidays`, holidays_cli.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.domain.sla import DEFAULT_TIME_ZONE, ClockState, SlaState, fold_sla
from services.dispatch.entrypoints.cli_options import DatabaseOption
from services.dispatch.entrypoints.holidays_cli import holidays_app
from services.dispatch.service_layer.sla_views import clock_status, on_time
from services.dispatch.settings import DispatchSettings
from shared.database import create_engine
from shared.events.base import EventData
from shared.events.catalogue import parse
from shared.events.sla import (
    SlaCalendarUnconfirmed,
    SlaClockBreached,
    SlaClockCancelled,
    SlaClockEvent,
    SlaClockMet,
    SlaClockPaused,
    SlaClockRecalculated,
    SlaClockResumed,
    SlaClockStarted,
    SlaEscalated,
    SlaWarningRaised,
)
from shared.events.workorder import (
    ArrivalDelayAgreed,
    Arrived,
    Assigned,
    Reassigned,
    WorkOrderReported,
)

sla_app = typer.Typer(
    help="The SLA clocks of dispatch: explain what happened; public-holiday schedules.",
    no_args_is_help=True,
)


sla_app.add_typer(holidays_app, name="holidays")


class _Failure(Exception):
    """A problem the operator can fix; printed as one line, exit code 1."""


@dataclass(frozen=True, slots=True)
class _Stream:
    """What `explain` prints: the events with their times, in the project's time zone."""

    project: str
    zone: ZoneInfo
    history: list[tuple[EventData, datetime]]


@sla_app.command()
def explain(
    work_order_id: Annotated[str, typer.Argument(help="The work order's id.")],
    database_url: DatabaseOption = None,
) -> None:
    """Print the clock history of a work order as a timeline, then each clock's outcome."""
    url = DispatchSettings().database_url if database_url is None else database_url
    console = Console()
    try:
        stream = asyncio.run(_load(url, work_order_id))
    except _Failure as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"[bold]Work order {work_order_id}[/] · project {stream.project} · times in {stream.zone}",
        highlight=False,
        soft_wrap=True,
    )
    for event, at in stream.history:
        line = describe(event, at, stream.zone)
        stamp = at.astimezone(stream.zone).strftime("%Y-%m-%d %H:%M:%S")
        # soft_wrap: one event stays one line, whatever the terminal's width.
        console.print(f"[dim]{stamp}[/]  {line}", highlight=False, soft_wrap=True)
    console.print(summary_table(fold_sla(stream.history), stream.zone))


async def _load(url: str, work_order_id: str) -> _Stream:
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise _Failure(f"invalid database URL {url!r}: {_first_line(exc)}") from None
    store = SqlEventStore(engine)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        recorded = await store.load(work_order_id)
        if not recorded:
            raise _Failure(f"work order {work_order_id} not found in {shown}")
        tenant, project = recorded[0].tenant, recorded[0].project
        async with engine.connect() as conn:
            zone_name = await conn.scalar(
                select(t.projects.c.time_zone).where(
                    t.projects.c.tenant == tenant, t.projects.c.project == project
                )
            )
    except (SQLAlchemyError, OSError) as exc:
        # aiosqlite stops a failed connection's thread without waiting for it; give it
        # time before the loop closes, or the thread prints a traceback.
        await asyncio.sleep(0.1)
        raise _Failure(f"cannot read events from the database {shown}: {_cause(exc)}") from None
    finally:
        await store.close()
        await engine.dispose()
    history = [(parse(e.type_name, e.data), e.occurred_at) for e in recorded]
    return _Stream(project, _zone(zone_name), history)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def describe(event: EventData, at: datetime, zone: ZoneInfo) -> str:
    """One event that happened `at`, in words: `arrival clock started, due 10:03:00 (3 min, 24×7)`.

    Times are local to `zone`; one on another day than the event also shows its date.
    """

    def _time(value: datetime) -> str:
        return _local(value, zone, at)

    if not isinstance(event, SlaClockEvent):
        return _work_order_event(event, _time)
    clock = event.clock.value if event.cycle <= 1 else f"{event.clock.value} (cycle {event.cycle})"
    match event:
        case SlaClockStarted():
            target = _duration(event.target_seconds)
            due = _time(event.due_at)
            return f"{clock} clock started, due {due} ({target}, {_calendar(event.calendar)})"
        case SlaClockPaused():
            return f"{clock} paused: {event.reason}"
        case SlaClockResumed():
            return f"{clock} resumed, due {_time(event.due_at)}"
        case SlaWarningRaised():
            return f"{clock}: {event.threshold:.0%} warning"
        case SlaClockBreached():
            due, seen = _time(event.due_at), _time(event.detected_at)
            return f"[bold red]{clock} BREACHED[/] (due {due}, detected {seen})"
        case SlaClockMet():
            return f"{clock} {_met(event)}"
        case SlaEscalated():
            to = event.to_person or event.to_role.value
            return f"{clock}: escalated level {event.level} → {to} ({event.trigger})"
        case SlaClockRecalculated():
            before, after = _time(event.previous_due_at), _time(event.due_at)
            consent = ", with the resident's consent" if event.with_consent else ""
            return f"{clock} recalculated ({event.reason}{consent}): due {before} → {after}"
        case SlaClockCancelled():
            return f"{clock} cancelled: {event.reason}"
        case SlaCalendarUnconfirmed():
            years = ", ".join(str(year) for year in event.years)
            return (
                f"[yellow]{clock}: due {_time(event.due_at)} counts working days of {years}, "
                "whose public holidays are not announced yet: the due time may move[/]"
            )
    return f"{clock}: {type(event).type_name}"


def _work_order_event(event: EventData, time: Callable[[datetime], str]) -> str:
    # The facts that start, stop or move clocks get their details; the rest their name.
    match event:
        case WorkOrderReported():
            return (
                f"work order reported: {event.kind.value}, {event.category}, {event.urgency.value}"
            )
        case Assigned():
            return f"work order assigned to {event.assignee}"
        case Reassigned():
            return f"work order reassigned to {event.to_assignee}"
        case Arrived():
            return f"{event.technician} arrived"
        case ArrivalDelayAgreed():
            return f"arrival delay agreed with the resident, until {time(event.agreed_arrival_at)}"
    name = type(event).type_name.removeprefix("workorder.").replace("_", " ")
    return f"work order {name}"


def _met(event: SlaClockMet) -> str:
    if event.on_time:
        return "met (original promise missed with consent)" if event.missed_with_consent else "met"
    return "met late (missed with consent)" if event.missed_with_consent else "met late"


def summary_table(sla: SlaState, zone: ZoneInfo) -> Table:
    """Each clock's latest cycle: how it stands, when it was due, what was raised."""
    table = Table(title="SLA clocks")
    for header in ("clock", "cycle", "status", "due", "breached", "warnings", "levels"):
        table.add_column(header, no_wrap=header in ("due", "breached"))
    for clock in sla.clocks.values():
        table.add_row(
            clock.clock.value,
            str(clock.cycle),
            _status(clock),
            _short(clock.due_at, zone),
            "" if clock.breached_at is None else _short(clock.breached_at, zone),
            ", ".join(f"{w:.0%}" for w in sorted(clock.warnings)),
            ", ".join(str(level) for _, level in sorted(clock.escalations, key=lambda s: s[1])),
        )
    return table


def _status(clock: ClockState) -> str:
    status = clock_status(clock).value
    if on_time(clock) is False:
        status += " late"
    if clock.consent:
        status += " (missed with consent)"
    if clock.paused is not None:
        status += f", paused: {clock.paused.reason}"
    return status


def _local(value: datetime, zone: ZoneInfo, day_of: datetime | None = None) -> str:
    local = value.astimezone(zone)
    if day_of is not None and local.date() == day_of.astimezone(zone).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def _short(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%m-%d %H:%M:%S")


def _calendar(name: str) -> str:
    return "24×7" if name == "24x7" else name.replace("_", " ")


def _duration(seconds: float) -> str:
    """`3 min`, `2 d`, `1 h 30 min`: the target in the largest units that divide it."""
    left = timedelta(seconds=seconds)
    parts: list[str] = []
    for unit, size in (("d", timedelta(days=1)), ("h", timedelta(hours=1))):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}")
    minutes, left = divmod(left, timedelta(minutes=1))
    if minutes:
        parts.append(f"{minutes} min")
    if left or not parts:
        parts.append(f"{left.total_seconds():g} s")
    return " ".join(parts)


def _cause(exc: BaseException) -> str:
    # SQLAlchemy wraps the driver's error and appends its SQL and a help link.
    original = getattr(exc, "orig", None)
    return _first_line(original if original is not None else exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
