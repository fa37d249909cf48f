"""Operator commands of dispatch itself (mounted as `wo dispatch`): rebuild the timer table
and the residents' blind index from the event store."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.event_store import SqlEventStore
from services.dispatch.adapters.public_holidays import SqlPublicHolidays
from services.dispatch.adapters.queries import SqlProjectDirectory
from services.dispatch.adapters.resident_index import SqlResidentIndex
from services.dispatch.adapters.sla_policies import SqlSlaPolicies
from services.dispatch.adapters.sla_timer_table import rebuild_sla_timers
from services.dispatch.adapters.sql_timer_store import SqlTimerStore
from services.dispatch.entrypoints.bootstrap import privacy_of
from services.dispatch.entrypoints.cli_options import DatabaseOption
from services.dispatch.entrypoints.seal_personal_data import seal_personal_data, summary
from services.dispatch.service_layer.timers import OFFER_CLOCK
from services.dispatch.settings import DispatchSettings
from shared.cli import CliFailure, NatsUrlOption, cause, engine_for
from shared.clock import SystemClock
from shared.privacy.local_key import key_beside
from shared.privacy.wrapping import UnwrapError

dispatch_app = typer.Typer(
    help="dispatch: rebuild the timer table and the residents' index; seal reports stored in clear.",
    no_args_is_help=True,
)


@dispatch_app.callback()
def _group() -> None:
    # A group callback keeps a lone command a subcommand (`wo dispatch rebuild-timers`).
    return None


@dataclass(frozen=True, slots=True)
class _Rebuilt:
    orders: int
    clock_timers: int
    offer_timers: int
    next_fires_at: datetime | None


@dispatch_app.command("rebuild-timers")
def rebuild_timers(
    database_url: DatabaseOption = None,
) -> None:
    """Drop the timer table's rows and derive them again from every work order's events.

    The table (SLA warnings, breaches, escalation steps, offer expiries) is a pure
    function of the events, so this restores it after it was lost or damaged. Stop
    dispatch first: an order written while this runs could keep timers read before it.
    """
    url = DispatchSettings().database_url if database_url is None else database_url
    try:
        rebuilt = asyncio.run(_rebuild(url))
    except CliFailure as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    total = rebuilt.clock_timers + rebuilt.offer_timers
    following = (
        f"; the next fires at {rebuilt.next_fires_at.isoformat()}"
        if rebuilt.next_fires_at is not None
        else ""
    )
    Console().print(
        f"Rebuilt the timer table from the events of {rebuilt.orders:,} work orders: "
        f"{total:,} timers ({rebuilt.clock_timers:,} SLA clock timers, "
        f"{rebuilt.offer_timers:,} offer expiries){following}.",
        highlight=False,
        soft_wrap=True,
    )


async def _rebuild(url: str) -> _Rebuilt:
    engine = engine_for(url)
    store = SqlEventStore(engine)
    clock = SystemClock()
    policies = SqlSlaPolicies(
        engine,
        clock=clock.now,
        projects=SqlProjectDirectory(engine),
        holidays=SqlPublicHolidays(engine, clock=clock.now),
    )
    c = t.sla_timers.c
    try:
        await rebuild_sla_timers(store, policies)
        async with engine.connect() as conn:
            orders = await conn.scalar(select(func.count()).select_from(t.work_orders))
            offers = await conn.scalar(
                select(func.count()).select_from(t.sla_timers).where(c.clock == OFFER_CLOCK)
            )
            clocks = await conn.scalar(
                select(func.count()).select_from(t.sla_timers).where(c.clock != OFFER_CLOCK)
            )
        upcoming = await SqlTimerStore(engine).next_fire_time()
    except (SQLAlchemyError, OSError) as exc:
        # aiosqlite stops a failed connection's thread without waiting for it; give it
        # time before the loop closes, or the thread prints a traceback.
        await asyncio.sleep(0.1)
        shown = make_url(url).render_as_string(hide_password=True)
        raise CliFailure(f"cannot rebuild the timer table in {shown}: {cause(exc)}") from None
    finally:
        await store.close()
        await engine.dispose()
    return _Rebuilt(int(orders or 0), int(clocks or 0), int(offers or 0), upcoming)


@dispatch_app.command("rebuild-residents")
def rebuild_residents(
    database_url: DatabaseOption = None,
) -> None:
    """Derive the residents' blind index again from every reported work order.

    Run it after changing PRIVACY_MASTER_KEY, which the index is keyed from (it reads the
    key like dispatch does: outside ENVIRONMENT=development it must be set; unset, a
    SQLite database's local stack key beside it is used, as `wo up` gave it to dispatch),
    or to be sure the index is whole. The reports' phones are sealed: they are opened
    with the residents' keys (an erased resident's orders are indexed with no phone, so
    nobody finds them by it). dispatch may keep running: the reports appended meanwhile
    are indexed with their append.
    """
    url, settings = _with_keys(database_url)
    try:
        indexed = asyncio.run(_rebuild_residents(url, settings))
    except CliFailure as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    Console().print(
        f"Rebuilt the residents' index from {indexed:,} reported work orders.",
        highlight=False,
        soft_wrap=True,
    )


def _with_keys(database_url: str | None) -> tuple[str, DispatchSettings]:
    """The database URL and dispatch's settings with the privacy master key dispatch reads:
    outside ENVIRONMENT=development it must be set; unset, a SQLite database's local stack
    key beside it is used, as `wo up` gave it to dispatch."""
    settings = DispatchSettings()
    url = settings.database_url if database_url is None else database_url
    local = key_beside(url)
    if local is not None and not os.environ.get("PRIVACY_MASTER_KEY", "").strip():
        # A local stack's database: its dispatch keys the index with the stack's own key.
        settings = DispatchSettings(privacy_master_key=SecretStr(local))
    return url, settings


@dispatch_app.command("seal-personal-data")
def seal_personal_data_command(
    database_url: DatabaseOption = None,
    nats_url: NatsUrlOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Reports sealed per transaction.")] = 500,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be sealed; change nothing.")
    ] = False,
) -> None:
    """Seal the reports recorded before sealing: in the event store, the outbox, the
    listing and the idempotency records, then on the EVENTS stream (published again
    sealed, the old messages erased).

    Run it once after upgrading, with dispatch stopped. It reads PRIVACY_MASTER_KEY like
    `rebuild-residents`. Safe to run again: what is sealed is skipped, so a run stopped
    half-way is finished by the next.
    """
    url, settings = _with_keys(database_url)
    console = Console()
    try:
        migrated = asyncio.run(
            seal_personal_data(
                url,
                settings.nats_url if nats_url is None else nats_url,
                settings,
                batch_size=batch_size,
                dry_run=dry_run,
                console=console,
            )
        )
    except CliFailure as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(summary(migrated, dry_run), highlight=False, soft_wrap=True)


async def _rebuild_residents(url: str, settings: DispatchSettings) -> int:
    engine = engine_for(url)
    try:
        privacy = privacy_of(engine, settings, SystemClock())
    except ValueError as exc:
        await engine.dispose()
        raise CliFailure(str(exc)) from None
    try:
        return await SqlResidentIndex(engine, privacy).rebuild()
    except UnwrapError as exc:
        raise CliFailure(
            f"cannot open the residents' sealed phones: {exc} (the master key that wrapped "
            "their keys belongs in PRIVACY_MASTER_KEY or PRIVACY_RETIRED_MASTER_KEYS)"
        ) from None
    except (SQLAlchemyError, OSError) as exc:
        await asyncio.sleep(0.1)  # as in `_rebuild`: let aiosqlite's thread end first
        shown = make_url(url).render_as_string(hide_password=True)
        raise CliFailure(f"cannot rebuild the residents' index in {shown}: {cause(exc)}") from None
    finally:
        await engine.dispose()
