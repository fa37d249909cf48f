"""Operator commands of the outbox relay (mounted as `wo relay`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated

import typer
from nats.aio.client import Client
from nats.errors import Error as NatsError
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.republish import republish_all
from services.dispatch.entrypoints.cli_options import DatabaseOption
from services.dispatch.settings import DispatchSettings
from shared.cli import (
    CliFailure,
    NatsUrlOption,
    cause,
    connect_quietly,
    engine_for,
    event_progress,
    first_line,
)
from shared.errors import AppError
from shared.subjects import EVENTS_STREAM

relay_app = typer.Typer(
    help="The outbox relay of dispatch: recovery of the JetStream event stream.",
    no_args_is_help=True,
)


@relay_app.callback()
def _group() -> None:
    # A group callback keeps `republish` a subcommand even while it is the only one
    # (Typer would otherwise turn a single-command app into that command).
    return None


@dataclass(frozen=True, slots=True)
class _Summary:
    events: int
    seconds: float


@relay_app.command()
def republish(
    database_url: DatabaseOption = None,
    nats_url: NatsUrlOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events read per page.")] = 1000,
    connect_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for NATS and the database.")
    ] = 5.0,
) -> None:
    """Publish every stored event to the EVENTS stream again (after the stream was lost).

    Stop dispatch's outbox relay first: no newer event may overtake the older ones.
    """
    settings = DispatchSettings()
    console = Console()
    errors = Console(stderr=True)
    try:
        summary = asyncio.run(
            _republish(
                settings.database_url if database_url is None else database_url,
                settings.nats_url if nats_url is None else nats_url,
                batch_size,
                connect_timeout,
                console,
            )
        )
    except CliFailure as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    rate = summary.events / summary.seconds if summary.seconds > 0 else 0.0
    console.print(
        f"Republished {summary.events:,} events to stream {EVENTS_STREAM} "
        f"in {summary.seconds:.1f} s ({rate:,.0f} events/s).",
        highlight=False,
        soft_wrap=True,
    )


async def _republish(
    database_url: str, nats_url: str, batch_size: int, wait_seconds: float, console: Console
) -> _Summary:
    engine = engine_for(database_url)
    try:
        await _check_database(engine, database_url, wait_seconds)
        nc = await connect_quietly(nats_url, "dispatch-republish", wait_seconds)
        try:
            return await _run_with_progress(engine, nc, batch_size, console)
        finally:
            await nc.close()
    finally:
        await engine.dispose()


async def _check_database(engine: AsyncEngine, url: str, wait_seconds: float) -> None:
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        async with asyncio.timeout(wait_seconds), engine.connect() as conn:
            await conn.scalar(select(func.count()).select_from(t.events))
    except TimeoutError:
        raise CliFailure(f"cannot reach the database {shown} within {wait_seconds:g} s") from None
    except (SQLAlchemyError, OSError) as exc:
        # aiosqlite stops the worker thread of a failed connection without waiting for
        # it; if the event loop closed first, the thread would print a traceback.
        await asyncio.sleep(0.1)
        raise CliFailure(f"cannot read events from the database {shown}: {cause(exc)}") from None


async def _run_with_progress(
    engine: AsyncEngine, nc: Client, batch_size: int, console: Console
) -> _Summary:
    started = time.monotonic()
    with event_progress(console) as progress:
        task = progress.add_task("Republishing", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            settings = DispatchSettings()
            count = await republish_all(
                engine,
                nc.jetstream(),
                batch_size=batch_size,
                on_progress=on_progress,
                stream_replicas=settings.nats_stream_replicas,
                events_max_age_days=settings.events_max_age_days,
            )
        except AppError as exc:
            raise CliFailure(exc.message) from None
        # Before OSError: NATS timeouts are OSErrors too.
        except NatsError as exc:
            raise CliFailure(f"NATS error: {first_line(exc)}") from None
        except (SQLAlchemyError, OSError) as exc:
            raise CliFailure(f"database error: {cause(exc)}") from None
    return _Summary(events=count, seconds=time.monotonic() - started)
