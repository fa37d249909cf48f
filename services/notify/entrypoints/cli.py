"""Operator commands of notify (mounted as `wo notify`): dead letters, listed and retried;
a configuration file imported into the database.

They work on notify's database directly (`NOTIFY_DATABASE_URL`, else the embedded SQLite
under var/), so they answer while the service is down; a running notify sends what a
retry queued at its next poll.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import astuple
from pathlib import Path
from typing import Annotated, Literal

import typer
from nats.aio.client import Client
from nats.errors import Error as NatsError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from services.notify.adapters import queries
from services.notify.adapters.config_file import load_config
from services.notify.adapters.config_store import SqlConfigStore
from services.notify.adapters.migrate import upgrade
from services.notify.adapters.sealed import Sealer
from services.notify.adapters.stored_before_masking import Masked, mask_stored_personal_data
from services.notify.adapters.stream_masking import mask_stream, report_references
from services.notify.domain.config import NotifyConfig
from services.notify.entrypoints import bootstrap
from services.notify.service_layer.dead_letters import retry_dead_letter
from services.notify.settings import NotifySettings
from shared.cli import CliFailure, NatsUrlOption, cause, connect_quietly, first_line
from shared.clock import SystemClock
from shared.database import create_engine
from shared.errors import AppError
from shared.stream_rewrite import Replaced

notify_app = typer.Typer(
    help="notify: dead letters (events and deliveries it gave up on), configuration import, masking.",
    no_args_is_help=True,
)
config_app = typer.Typer(help="Who hears what: contacts, roles, routes.", no_args_is_help=True)
notify_app.add_typer(config_app, name="config")

DatabaseOption = Annotated[
    str | None,
    typer.Option(help="notify's database (default: NOTIFY_DATABASE_URL, else var/notify.db)."),
]


def _settings(database_url: str | None) -> NotifySettings:
    # DATABASE_URL in an operator's shell is usually dispatch's: notify's has its own name.
    url = database_url or os.environ.get("NOTIFY_DATABASE_URL")
    return NotifySettings(database_url=url) if url else NotifySettings()


@notify_app.command("dead-letters")
def dead_letters(
    database_url: DatabaseOption = None,
    kind: Annotated[
        str | None, typer.Option(help="Only `event` or `delivery` dead letters.")
    ] = None,
    include_retried: Annotated[bool, typer.Option(help="Show retried ones too.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """List dead letters, newest first, with their error."""
    kinds: dict[str | None, Literal["event", "delivery"] | None] = {
        None: None,
        "event": "event",
        "delivery": "delivery",
    }
    if kind not in kinds:
        raise typer.BadParameter("kind is `event` or `delivery`")
    rows = asyncio.run(_list(_settings(database_url), kinds[kind], include_retried, limit))
    table = Table("id", "kind", "tenant/project")
    # Ids are copied into `wo notify retry` and searched for: never wrap them.
    table.add_column("event / delivery", no_wrap=True)
    table.add_column("attempts")
    table.add_column("error", overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["kind"]),
            f"{row['tenant'] or '-'}/{row['project'] or '-'}",
            str(row["delivery_id"] or row["event_id"] or f"seq {row['stream_sequence']}"),
            str(row["attempts"]),
            str(row["error"])[:120],
        )
    Console().print(table if rows else "No dead letters.")


async def _list(
    settings: NotifySettings,
    kind: Literal["event", "delivery"] | None,
    include_retried: bool,
    limit: int,
) -> list[dict[str, object]]:
    notify = await bootstrap.start(settings, background=False)
    try:
        return await queries.list_dead_letters(
            notify.engine,
            queries.Scope(tenant=None, projects=None),
            kind=kind,
            include_retried=include_retried,
            limit=limit,
        )
    finally:
        await bootstrap.stop(notify)


@notify_app.command()
def retry(
    dead_letter_id: Annotated[int, typer.Argument(help="The id from `wo notify dead-letters`.")],
    database_url: DatabaseOption = None,
) -> None:
    """Retry a dead letter: apply its event again, or send its delivery again."""
    try:
        outcome = asyncio.run(_retry(_settings(database_url), dead_letter_id))
    except AppError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    Console().print(f"Dead letter {dead_letter_id}: {outcome}.", highlight=False)


async def _retry(settings: NotifySettings, dead_letter_id: int) -> str:
    notify = await bootstrap.start(settings, background=False)
    try:
        return await retry_dead_letter(
            notify.dead_letters, notify.handler, notify.clock, dead_letter_id
        )
    finally:
        await bootstrap.stop(notify)


@config_app.command("import")
def import_config(
    file: Annotated[Path, typer.Argument(help="A notify configuration file (docs/notify.md).")],
    replace: Annotated[
        bool,
        typer.Option(help="Overwrite the tenants the database holds (edits made since are lost)."),
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Load a configuration file into notify's database: the tenants it does not hold yet,
    or with --replace every tenant the file names. Running notify processes see it within
    CONFIG_REFRESH_SECONDS."""
    settings = _settings(database_url)
    try:
        config = load_config(file)
        written = asyncio.run(_import(settings, config, replace))
    except (AppError, ValueError) as exc:
        message = exc.message if isinstance(exc, AppError) else str(exc)
        Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
        raise typer.Exit(1) from None
    rows = ", ".join(written) if written else "nothing (the database holds every tenant)"
    Console().print(f"Imported {file}: {rows}.", highlight=False)


async def _import(settings: NotifySettings, config: NotifyConfig, replace: bool) -> list[str]:
    sealer = Sealer(settings.secrets_key())
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        store = SqlConfigStore(engine, SystemClock().now, sealer)
        return await store.import_config(config, replace=replace, by="wo notify config import")
    finally:
        await engine.dispose()


@notify_app.command("mask-personal-data")
def mask_personal_data(
    database_url: DatabaseOption = None,
    nats_url: NatsUrlOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Work orders per transaction.")] = 500,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be masked; change nothing.")
    ] = False,
) -> None:
    """Mask the residents' names, phones and units notify stored before it kept masks only:
    its work-order facts, deliveries, inbox messages, dev outbox, dead letters and outbox;
    then its events on the EVENTS stream that name a resident by phone.

    Run it once after upgrading (docs/operations.md). Safe to run again: masks are
    idempotent, so a run stopped half-way is finished by the next.
    """
    settings = _settings(database_url)
    console = Console()
    verb = "Would mask" if dry_run else "Masked"
    try:
        masked, stream = asyncio.run(
            _mask(
                settings.database_url,
                settings.nats_url if nats_url is None else nats_url,
                batch_size,
                dry_run,
                console,
            )
        )
    except CliFailure as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"{verb} {masked.facts:,} work orders' facts, {masked.deliveries:,} deliveries, "
        f"{masked.inbox_messages:,} inbox messages, {masked.dev_outbox:,} dev-outbox rows, "
        f"{masked.dead_letters:,} dead letters and {masked.outbox:,} outbox events; "
        f"{'would replace' if dry_run else 'replaced'} the events of {stream.groups:,} "
        f"deliveries on the stream ({stream.deleted:,} messages).",
        highlight=False,
        soft_wrap=True,
    )


async def _mask(
    database_url: str, nats_url: str, batch_size: int, dry_run: bool, console: Console
) -> tuple[Masked, Replaced]:
    nc = await connect_quietly(nats_url, "notify-mask-personal-data", 5.0)
    try:
        return await _mask_with(nc, database_url, batch_size, dry_run, console)
    except NatsError as exc:
        raise CliFailure(f"NATS error: {first_line(exc)}") from None
    finally:
        await nc.close()


async def _mask_with(
    nc: Client, database_url: str, batch_size: int, dry_run: bool, console: Console
) -> tuple[Masked, Replaced]:
    js = nc.jetstream()
    references = await report_references(js, batch_size)
    console.print(
        f"{len(references):,} sealed reports on the stream name their resident.", highlight=False
    )
    engine = create_engine(database_url)
    batches = 0

    def batch_done(done: Masked) -> None:
        nonlocal batches
        batches += 1
        console.print(f"batch {batches}: {sum(astuple(done)):,} rows.", highlight=False)

    try:
        masked = await mask_stored_personal_data(
            engine,
            references=references,
            batch_size=batch_size,
            dry_run=dry_run,
            on_batch=batch_done,
        )
    except (SQLAlchemyError, OSError) as exc:
        await asyncio.sleep(0.1)  # let aiosqlite's thread end before the loop closes
        raise CliFailure(f"cannot mask notify's rows: {cause(exc)}") from None
    finally:
        await engine.dispose()
    stream = await mask_stream(
        js,
        batch_size=batch_size,
        dry_run=dry_run,
        on_wait=lambda s: console.print(
            f"Waiting {s:.0f} s for JetStream's duplicate window.", highlight=False
        ),
    )
    return masked, stream
