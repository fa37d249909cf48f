"""Operator commands of reporting (mounted as `wo reporting`)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from nats.errors import Error as NatsError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from services.reporting.adapters.migrate import upgrade
from services.reporting.adapters.rebuild import RebuildFailed, RebuildResult, Workers, rebuild
from services.reporting.adapters.store import ReadModelStore
from services.reporting.adapters.stored_before_masking import Masked, mask_stored_personal_data
from services.reporting.settings import ReportingSettings
from shared.cli import (
    CliFailure,
    NatsUrlOption,
    cause,
    connect_quietly,
    engine_for,
    event_progress,
    first_line,
)
from shared.clock import SystemClock
from shared.database import Database

T = TypeVar("T")

reporting_app = typer.Typer(
    help="reporting: rebuild the read model; its projector's state and dead letters; masking.",
    no_args_is_help=True,
)


DatabaseOption = Annotated[
    str | None,
    typer.Option(help="reporting's database (default: DATABASE_URL or the embedded SQLite)."),
]


@reporting_app.command("rebuild")
def rebuild_command(
    database_url: DatabaseOption = None,
    nats_url: NatsUrlOption = None,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            help="Events fetched at a time, and work orders written per transaction.",
        ),
    ] = 1000,
    connect_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for NATS.")
    ] = 5.0,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Processes replaying the stream side by side, each a share of the "
            "projects (default: the CPU count; 1: in this process).",
        ),
    ] = None,
) -> None:
    """Replay EVENTS from its first message into fresh tables, then switch to them at once.

    The running service keeps serving the old figures until the switch and its projector
    keeps going; nothing needs to stop.
    """
    settings = ReportingSettings()
    console = Console()
    started = time.monotonic()
    try:
        result = asyncio.run(
            _rebuild(
                database_url or settings.database_url,
                nats_url or settings.nats_url,
                settings.consumer_durable,
                batch_size,
                connect_timeout,
                console,
                workers or os.cpu_count() or 1,
            )
        )
    except CliFailure as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    seconds = time.monotonic() - started
    rate = result.events / seconds if seconds > 0 else 0.0
    console.print(
        f"Rebuilt the read model from {result.events:,} events (up to stream sequence "
        f"{result.stream_sequence:,}) in {seconds:.1f} s ({rate:,.0f} events/s, "
        f"{result.partitions} {'partition' if result.partitions == 1 else 'partitions'}); "
        f"generation {result.generation} replaced {result.previous_generation}.",
        highlight=False,
        soft_wrap=True,
    )


@reporting_app.command("projector")
def projector_command(database_url: DatabaseOption = None) -> None:
    """The projector's position in EVENTS and its dead letters, over every tenant."""
    settings = ReportingSettings()
    state = _run(_projector(database_url or settings.database_url, settings.consumer_durable))
    Console().print(state, highlight=False, soft_wrap=True)


@reporting_app.command("dead-letters")
def dead_letters_command(
    database_url: DatabaseOption = None, limit: Annotated[int, typer.Option(min=1)] = 50
) -> None:
    """Every tenant's dead letters newest first, and those of a body that named no tenant
    (the raw body stays in the table: it may hold anyone's personal data)."""
    rows = _run(_read(database_url or ReportingSettings().database_url, limit))
    table = Table("id", "tenant/project", "subject", "event", "recorded", "skipped")
    table.add_column("error", overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            f"{row['tenant'] or '-'}/{row['project'] or '-'}",
            row["subject"],
            row["event_id"] or f"seq {row['stream_sequence']}",
            row["recorded_at"].isoformat(),
            "yes" if row["skipped"] else "no",
            row["error"][:200],
        )
    Console().print(table if rows else "No dead letters.")


@reporting_app.command("mask-personal-data")
def mask_personal_data_command(
    database_url: DatabaseOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Dead letters per transaction.")] = 500,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be masked; change nothing.")
    ] = False,
) -> None:
    """Mask the reporters' names, phones and units in the events reporting keeps raw
    (waiting for their turn, dead letters) from before reports were sealed.

    Run it once after upgrading (docs/operations.md); safe to run again.
    """
    masked = _run(_mask(database_url or ReportingSettings().database_url, batch_size, dry_run))
    Console().print(
        f"{'Would mask' if dry_run else 'Masked'} {masked.waiting:,} waiting events and "
        f"{masked.dead_letters:,} dead letters.",
        highlight=False,
    )


async def _mask(database_url: str, batch_size: int, dry_run: bool) -> Masked:
    engine = engine_for(database_url)
    try:
        return await mask_stored_personal_data(engine, batch_size=batch_size, dry_run=dry_run)
    except (SQLAlchemyError, OSError) as exc:
        await asyncio.sleep(0.1)  # let aiosqlite's thread end before the loop closes
        raise CliFailure(f"database error: {cause(exc)}") from None
    finally:
        await engine.dispose()


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except CliFailure as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


async def _with_store(database_url: str, read: Callable[[ReadModelStore], Awaitable[T]]) -> T:
    engine = engine_for(database_url)
    database = Database(engine)
    try:
        await upgrade(engine)
        return await read(ReadModelStore(database, SystemClock()))
    except (SQLAlchemyError, OSError) as exc:
        raise CliFailure(f"database error: {cause(exc)}") from None
    finally:
        database.close()
        await engine.dispose()


async def _projector(database_url: str, consumer: str) -> str:
    async def read(store: ReadModelStore) -> str:
        checkpoint = await store.checkpoint(consumer)
        position = (
            f"stream sequence {checkpoint.stream_sequence:,}, {checkpoint.events_applied:,} "
            f"events applied, updated {checkpoint.updated_at.isoformat()}"
            if checkpoint
            else "nothing applied yet"
        )
        return (
            f"generation {await store.current_generation()}: {position}; "
            f"{await store.dead_letter_count():,} dead letters"
        )

    return await _with_store(database_url, read)


async def _read(database_url: str, limit: int) -> list[dict[str, Any]]:
    return await _with_store(database_url, lambda store: store.dead_letters(limit))


async def _rebuild(
    database_url: str,
    nats_url: str,
    live_consumer: str,
    batch_size: int,
    wait_seconds: float,
    console: Console,
    workers: int,
) -> RebuildResult:
    engine = engine_for(database_url)
    database = Database(engine)
    try:
        nc = await connect_quietly(nats_url, "reporting-rebuild", wait_seconds)
        try:
            await upgrade(engine)
            store = ReadModelStore(database, SystemClock())
            with event_progress(console) as progress:
                task = progress.add_task("Rebuilding", total=None)

                def on_progress(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                fleet = Workers(workers, nats_url, database_url) if workers > 1 else None
                return await rebuild(store, nc, live_consumer, on_progress, batch_size, fleet)
        except RebuildFailed as exc:
            raise CliFailure(f"{exc}; the read model was left as it was") from None
        except NatsError as exc:
            raise CliFailure(f"NATS error: {first_line(exc)}") from None
        except (SQLAlchemyError, OSError) as exc:
            raise CliFailure(f"database error: {cause(exc)}") from None
        finally:
            await nc.close()
    finally:
        database.close()
        await engine.dispose()
