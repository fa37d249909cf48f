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
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters import tables as t
from services.dispatch.adapters.database import create_engine
from services.dispatch.adapters.republish import republish_all
from services.dispatch.settings import DispatchSettings
from shared.errors import AppError
from shared.nats import connect
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


class _Failure(Exception):
    """A problem the operator can fix; printed as one line, exit code 1."""


@dataclass(frozen=True, slots=True)
class _Summary:
    events: int
    seconds: float


class _RateColumn(ProgressColumn):
    """Events per second, as Rich measures the task's speed."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- events/s" if speed is None else f"{speed:,.0f} events/s")


@relay_app.command()
def republish(
    database_url: Annotated[
        str | None,
        typer.Option(help="dispatch's database (default: DATABASE_URL or the embedded SQLite)."),
    ] = None,
    nats_url: Annotated[
        str | None, typer.Option(help="NATS server(s), comma-separated (default: NATS_URL).")
    ] = None,
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
    except _Failure as exc:
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
    engine = _engine(database_url)
    try:
        await _check_database(engine, database_url, wait_seconds)
        nc = await _connect_nats(nats_url, wait_seconds)
        try:
            return await _run_with_progress(engine, nc, batch_size, console)
        finally:
            await nc.close()
    finally:
        await engine.dispose()


def _engine(url: str) -> AsyncEngine:
    try:
        return create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise _Failure(f"invalid database URL {url!r}: {_first_line(exc)}") from None


async def _check_database(engine: AsyncEngine, url: str, wait_seconds: float) -> None:
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        async with asyncio.timeout(wait_seconds), engine.connect() as conn:
            await conn.scalar(select(func.count()).select_from(t.events))
    except TimeoutError:
        raise _Failure(f"cannot reach the database {shown} within {wait_seconds:g} s") from None
    except (SQLAlchemyError, OSError) as exc:
        # aiosqlite stops the worker thread of a failed connection without waiting for
        # it; if the event loop closed first, the thread would print a traceback.
        await asyncio.sleep(0.1)
        raise _Failure(f"cannot read events from the database {shown}: {_cause(exc)}") from None


async def _connect_nats(url: str, wait_seconds: float) -> Client:
    # Each failed connection attempt, and the final close, would log a line between
    # the progress bar and the summary; the outcome is reported once instead.
    async def quiet_error(_exc: Exception) -> None:
        return None

    async def quiet() -> None:
        return None

    try:
        async with asyncio.timeout(wait_seconds):
            return await connect(
                url, "dispatch-republish", error_cb=quiet_error, disconnected_cb=quiet
            )
    except TimeoutError:
        raise _Failure(f"cannot reach NATS at {url} within {wait_seconds:g} s") from None
    except (NatsError, OSError, ValueError) as exc:
        raise _Failure(f"cannot connect to NATS at {url}: {_first_line(exc)}") from None


async def _run_with_progress(
    engine: AsyncEngine, nc: Client, batch_size: int, console: Console
) -> _Summary:
    started = time.monotonic()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
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
            raise _Failure(exc.message) from None
        # Before OSError: NATS timeouts are OSErrors too.
        except NatsError as exc:
            raise _Failure(f"NATS error: {_first_line(exc)}") from None
        except (SQLAlchemyError, OSError) as exc:
            raise _Failure(f"database error: {_cause(exc)}") from None
    return _Summary(events=count, seconds=time.monotonic() - started)


def _cause(exc: BaseException) -> str:
    # SQLAlchemy wraps the driver's error and appends its SQL and a help link.
    original = getattr(exc, "orig", None)
    return _first_line(original if original is not None else exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
